// Package staking is the deterministic accounts-and-staking state of the
// satnode chain: balances and nonces, validators and their delegations,
// unbonding, synchronizers, Bitcoin block rewards, slashing and jailing,
// the active validator set, and the storage and digest of all of it.
//
// What it does:
//
//   - Applies the state side of the staking transactions (Transfer,
//     CreateValidator, Delegate, Undelegate, RegisterSynchronizer, Unjail,
//     WithdrawRewards) and the nonce rule (CheckAndBumpNonce). Every
//     operation either applies fully or changes nothing, and rejects with a
//     *tx.Error whose Code is one of the stable codes of package tx.
//   - Pays each canonical Bitcoin block's reward (PayBitcoinBlockReward),
//     slashes and tombstones double signers (SlashDoubleSign), takes
//     attendance over a signed-blocks window and jails for downtime
//     (RecordAttendance).
//   - Keeps the active set and the voting powers endorsements are weighed
//     with (Power, TotalPower, Endorsed), matures unbonding entries and
//     produces CometBFT validator updates (EndBlock).
//   - Persists the changes since the last commit into the caller's batch
//     (WriteChanges), rebuilds the state from the store (Load), and digests
//     it for the app hash (Root). CheckInvariants proves the bookkeeping.
//
// What it does not do: it verifies no signature, decodes no transaction
// and knows nothing of ABCI, CometBFT types, Bitcoin headers or which
// Bitcoin block is canonical; the application wires those and hands in
// already-authenticated senders, CometBFT heights and block times, the
// evidence's consensus key, and the on-time and late endorsers of each
// canonical block when its attendance window closes. It
// reads no clock: every time is a CometBFT block time passed in. It does
// not decide whether a failed message keeps its nonce bump.
//
// Arithmetic is on integers only, every sum that could overflow is checked
// (tx.CodeOverflow), and no result or stored byte depends on map iteration
// order.
//
// # Accounts and nonces
//
// An account is its tx.Address. It exists once it has held funds or was
// named: at genesis, or as a validator's operator or endorser key. Only
// existing accounts can use a nonce. The first transaction carries nonce 1
// and each next one the last plus one, without gaps.
//
// # Stake
//
// A validator's tokens (its operator's self-stake and everyone's
// delegations, after slashes) are owned through shares: a delegation of s
// shares is worth floor(s × tokens / shares). Slashing burns tokens and
// keeps shares, so every delegator loses the same fraction. Conversions
// round in favour of those who stay (see delegation.go). Undelegated tokens
// wait in an unbonding entry until the CometBFT block time reaches its
// completion time (now + unbonding_period); EndBlock then returns them to
// the balance. An entry created at or after a double sign's height is
// slashed with the validator.
//
// Validators are never deleted: a validator whose stake is gone stays,
// jailed, with its keys reserved. It leaves the active set when jailed or
// below one unit of power; the active set is the max_validators unjailed
// validators with the most tokens, ties broken by operator address bytes.
//
// # Slashing, jailing and attendance
//
// A double sign (CometBFT evidence) burns double_sign_slash_bps of the
// validator's bonded tokens and of its unbonding entries created at or
// after the infraction height, jails it and tombstones it: it can never be
// unjailed, and later evidence against it, repeated or new, is refused
// (tx.CodeTombstoned) and changes nothing, so an infraction is slashed
// once.
//
// Attendance is a signed-blocks window, as in Cosmos x/slashing. A round is
// one canonical Bitcoin block whose attendance window has closed; each
// validator in the active set at that moment signed it (it endorsed the
// block, on time or late) or missed it. A validator keeps a bit per round
// for its last downtime_window rounds and the count of bits set; when that
// count exceeds downtime_max_missed, downtime_slash_bps of its bonded
// tokens is burned, it is jailed until now + downtime_jail_duration and
// its window is cleared. Any jailing clears the window, and a validator
// outside the active set takes no rounds, so it comes back with a clean
// one. A round costs O(1) per active validator: one bit, at most one
// 64-byte bitmap chunk rewritten.
//
// # Rewards
//
// For the canonical Bitcoin block at height h the reward is
// initial_reward >> (h / halving_interval) (0 after 64 halvings), paid
// when the block's attendance window closes. The synchronizer's payout
// address gets floor(reward × synchronizer_share_bps / 10^4). The rest R
// goes to the eligible endorsers: those that endorsed the block on time
// (before it became canonical) or late (within the window after) and are
// in the active set at payment; jailed and inactive validators get
// nothing and weigh nothing. Each eligible endorser's share is
// floor(R × tokens / Σ tokens of the eligible endorsers, on time and late);
// an on-time endorser is paid its share, a late one
// floor(share × late_reward_bps / 10^4), the cut going to the community
// pool. Of what a validator is paid, its operator takes
// floor(paid × commission_bps / 10^4) as commission, and the remainder D
// accrues to its delegators:
//
//	acc   += floor(D × 10^18 / shares)                 (256-bit, per validator)
//	pool  += ceil(Δacc × shares / 10^18)               (≤ D)
//	reward of a delegation = floor(s × (acc − last) / 10^18)
//
// where last is the delegation's copy of acc at its last settlement. A
// delegation settles — its reward is paid to the balance and last := acc —
// on every Delegate, Undelegate and WithdrawRewards, so the work is per
// delegation change, never per delegator per block. Two delegators joining
// at different times each earn exactly the blocks they were delegated for.
//
// Rounding dust is kept exactly. The remainder of the pro-rata split, the
// late cuts and D − ceil(Δacc × shares / 10^18) go to the community pool
// at once; what
// each settlement's floor leaves behind stays in the validator's pool,
// which therefore always covers every pending reward, and moves to the
// community pool when the validator's last share leaves. CheckInvariants
// checks
//
//	supply = Σ balances + Σ tokens + Σ unbonding + Σ synchronizer bonds
//	       + Σ unclaimed commission + Σ reward pools + community pool
//
// where supply counts genesis amounts plus everything minted minus
// everything burned by slashing.
//
// # Storage format (version 1)
//
// Every record is one key-value pair under the caller's prefix byte P (an
// upper-case letter: the UTXO engine reserves lower-case first bytes). A
// key is P ‖ tag ‖ 0x01 (the format version) ‖ body. Integers are
// big-endian at fixed width; times are int64 Unix nanoseconds; a signed
// integer in a key has its sign bit flipped so that keys sort in numeric
// order.
//
//	tag  record        key body                                value
//	'a'  account       address (32)                            balance (8) ‖ nonce (8)
//	'c'  params        —                                       80 bytes, below
//	'd'  delegation    delegator (32) ‖ operator (32)          shares (8, > 0) ‖ last ratio (32)
//	'g'  global        —                                       supply (8) ‖ community pool (8)
//	'm'  missed bitmap operator (32) ‖ chunk (2)               64 bytes of the window's bitmap
//	'p'  power         consensus key (32)                      power last sent to CometBFT (8, > 0)
//	's'  synchronizer  address (32)                            bond (8, > 0) ‖ payout address (32)
//	'u'  unbonding     completion time (8, sign-flipped) ‖     amount (8, > 0)
//	                   delegator (32) ‖ operator (32) ‖
//	                   creation height (8, sign-flipped)
//	'v'  validator     operator (32)                           below
//	'w'  window        operator (32)                           next round's position (4)
//
// Validator value (144 + n bytes):
//
//	offset  size  field
//	0       32    consensus key (ed25519)
//	32      32    endorser key
//	64      2     commission, bps (≤ 10000)
//	66      8     tokens
//	74      8     shares
//	82      1     0 free, 1 jailed, 2 tombstoned (jailed for good)
//	83      8     jailed until, int64 Unix nanoseconds
//	91      4     rounds missed in the signed-blocks window
//	95      8     unclaimed commission
//	103     8     reward pool
//	111     32    cumulative reward per share × 10^18, 256-bit
//	143     1     moniker length n (≤ 64)
//	144     n     moniker, UTF-8
//
// Params value: max_validators (4) ‖ unbonding_period ns (8) ‖
// min_self_stake (8) ‖ min_synchronizer_bond (8) ‖ power_reduction (8) ‖
// initial_reward (8) ‖ halving_interval (4) ‖ synchronizer_share_bps (2) ‖
// double_sign_slash_bps (2) ‖ double_sign_jail_duration ns (8) ‖
// downtime_max_missed (4) ‖ downtime_jail_duration ns (8) ‖
// downtime_slash_bps (2) ‖ downtime_window (4) ‖ late_reward_bps (2).
//
// A validator's signed-blocks window is a 'w' record, present from the
// first round it is counted in until it is jailed, holding the ring
// position (0 ≤ next < downtime_window) the coming round is written to,
// and its bitmap: round position i is bit 0x80 >> (i mod 8) of byte i / 8,
// set when that round was missed, stored in 64-byte chunks ('m', chunk c
// holding positions 512c to 512c + 511), a chunk only while one of its
// bits is set. The validator's missed count equals the bits set. A
// validator of operator O that missed the first two rounds it was counted
// in, as the third is coming, is 'w' O → 00000002 and 'm' O 0000 → c0 then
// 63 zero bytes (format_test.go checks them).
//
// Worked example, prefix 'S': the account of key 0x01 × 32 with balance
// 100,000,000 and last nonce 3 is
//
//	53 61 01 1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f
//	P  'a' v1 address
//	0000000005f5e100 0000000000000003
//	balance          nonce
//
// and 250,000 tokens undelegated from the validator of key 0x02 × 32 at
// height 42, completing 2024-01-01T00:00:00Z, are
//
//	53 75 01 97a6101701650000
//	P  'u' v1 completion 1704067200000000000 ns, sign bit flipped
//	1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f  delegator
//	4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766  operator
//	800000000000002a                                                  height 42, sign bit flipped
//	000000000003d090                                                  amount 250,000
//
// (format_test.go checks both byte for byte).
//
// A record is written when its encoding changes and deleted when its
// object goes away (delegations at zero shares, matured entries, powers
// back to zero); accounts, validators and synchronizers are never deleted.
// The stored bytes depend only on the state, never on how often
// WriteChanges ran. Load reads every record under P, rejects unknown tags,
// versions, lengths and out-of-range fields, requires each value to be in
// the canonical form the state would write, and runs CheckInvariants.
//
// # Root
//
// Root is SHA-256 over a domain string and 4096 bucket digests; bucket i
// digests, in key order, the records whose key (without P) has a SHA-256
// starting with the 12 bits i (store.go gives the exact bytes). It depends
// only on the records, so equal states have equal roots, and only the
// buckets touched since the last call are rehashed.
//
// # Crash recovery
//
// The caller puts WriteChanges' output in the same atomic batch as the
// rest of the block's state; after a crash Load sees the last committed
// block's state, and CometBFT replays the blocks after it.
package staking
