// Package tx defines the transactions of the satnode chain: the signed
// envelope, the nine message kinds, their one canonical binary encoding,
// BIP-340 signing and verification, the stateless checks, and the table of
// stable rejection codes the whole application reports.
//
// What it does:
//
//   - Unmarshal / Marshal the envelope, DecodeMsg / EncodeMsg the message
//     body. Decoding is strict and total: every byte string either decodes
//     or is rejected with an *Error carrying a Code, never a panic, and for
//     every accepted input re-encoding gives back the same bytes. So a
//     transaction has exactly one encoding, and the body the state machine
//     reads is exactly the body that was signed.
//   - Sign and Verify with BIP-340 Schnorr signatures over secp256k1, the
//     keys mining pools already manage. An account is its 32-byte x-only
//     public key (Address), written as bech32m with the prefix "sat".
//   - ValidateBasic on every message: what can be decided without state
//     (positive amounts, commission at most 100%, a clean moniker, valid
//     addresses, headers that chain, endorsement heights that increase).
//   - Code: the numbers CheckTx and FinalizeBlock return. The state machine
//     uses the same table, so it also lists rejections this package never
//     produces (balances, nonces, header rules, staking).
//
// What it does not do: it holds no state and reads no clock. It does not
// check nonces against accounts, balances, whether a validator exists,
// whether the first submitted header connects to the tree, proof of work,
// or any other Bitcoin header rule: those are for the state machine, which
// reports them with the codes defined here. It knows nothing of ABCI,
// networking or the command line.
//
// # The signed digest
//
// A signature signs
//
//	sha256( len(chainID) as one byte ‖ chainID ‖ signer (32) ‖ nonce (8, big-endian) ‖ body )
//
// DESIGN.md names sha256(chain-id ‖ body); this digest also binds the
// nonce, because a signature that did not cover it could be replayed under
// any later nonce, and the signer, so that the digest alone names
// everything the signature authorises (BIP-340 already commits to the key,
// so this costs nothing). The chain id (1..64 bytes of printable ASCII,
// see ValidateChainID) is length-prefixed so that no two (chain id,
// transaction) pairs share a preimage: without the prefix, chain "ab" with
// a signer starting 'c' could collide with chain "abc". Pools reuse their
// Bitcoin keys here, so note also that no Taproot, BIP-322 or MuSig2 signed
// message can equal a satnode digest: those are BIP-340 tagged hashes whose
// preimages start with SHA-256(tag) twice, and none of those tag hashes
// starts with a byte in 1..64 followed by that many printable characters
// (TestDigestDomain).
//
// Signing is deterministic: BIP-340's reference algorithm with all-zero
// auxiliary randomness. The chain id travels only in the digest: a
// transaction signed for another chain fails as CodeBadSignature.
//
// # Envelope wire format (version 1)
//
//	offset  size  field
//	0       1     envelope version, 0x01
//	1       32    signer: x-only public key (Address)
//	33      8     nonce, uint64 big-endian
//	41      64    BIP-340 signature r ‖ s (r < p, s < n)
//	105     k     body length n, minimal uvarint, k = 1..3 bytes
//	105+k   n     body: the message, below
//
// Nothing may follow the body, and the whole envelope is at most
// MaxTxBytes (256 KiB).
//
// # Message body (version 1)
//
//	offset  size  field
//	0       1     body version, 0x01
//	1       1     kind (Kind), then the fields of that kind in order:
//
// Fields are encoded by type: fixed-size arrays (addresses, keys, hashes,
// headers) as their raw bytes; uint16, uint32 and uint64 big-endian at
// fixed width; strings and lists as a minimal uvarint count followed by the
// bytes or elements. There is no padding, no optional field and no field
// tag, so the layout is fully determined by the kind.
//
//	kind  message               fields (size in bytes)
//	1     Transfer              to (32), amount (8, > 0)
//	2     CreateValidator       consensus key, ed25519 (32), endorser key (32),
//	                            commission bps (2, <= 10000), self stake (8, > 0),
//	                            moniker: uvarint length (<= 64) + UTF-8 bytes
//	3     Delegate              validator (32), amount (8, > 0)
//	4     Undelegate            validator (32), amount (8, > 0)
//	5     RegisterSynchronizer  bond (8, > 0), payout (32)
//	6     SubmitHeaders         uvarint count (1..2000), count × header (80)
//	7     Endorse               uvarint count (1..2000),
//	                            count × (height (4), block hash (32, internal order)),
//	                            heights strictly increasing
//	8     Unjail                nothing
//	9     WithdrawRewards       validator (32)
//
// Every address (to, endorser key, validator, payout) must be the x
// coordinate of a secp256k1 point; each SubmitHeaders header after the
// first must carry the double SHA-256 of the one before in bytes 4..36.
//
// # Worked example
//
// The Transfer vector of testdata/golden.txt (key 0x01 × 32, chain id
// "satnode-golden", nonce 1, 100,000,000 to the address of key 0x02 × 32),
// 148 bytes:
//
//	01                                                                envelope version
//	1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f  signer
//	0000000000000001                                                  nonce 1
//	4533dd21ebba2e94fb833546b2b700a95f84f0e22b264d96076f0c48e29ac5aa  signature r
//	6529b18dab385b01f07ec544022cf1bbe56bd1e1326b0e437265e9fd027b8447  signature s
//	2a                                                                body length 42
//	01 01                                                             body version, kind Transfer
//	4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766  to
//	0000000005f5e100                                                  amount 100,000,000
//
// TestGolden pins this and one vector per kind; the signatures were also
// reproduced with BIP-340's Python reference implementation.
//
// # Errors
//
// Every rejection is an *Error{Code, Msg}; CodeOf extracts the code from
// any error (CodeInternal for errors that carry none). Codes are stable
// numbers: they are only ever appended.
package tx
