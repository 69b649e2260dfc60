// Package verify checks satnode's proofs of the UTXO set without trusting
// any satnode operator: a coin is unspent (or an outpoint absent), or a set
// of addresses holds at least so much, at a Bitcoin height, because ≥ 2/3
// of the validators signed it, not because a node said so.
//
// # What it does
//
// It decodes the two proof files (DecodeFile: the answer of
// /v1/proof/utxo/{txid}/{vout}, kind "utxo", and what `satnode prove`
// writes, kind "reserves"), strictly: unknown fields, upper-case hex,
// non-canonical protobuf and oversized input are refused.
//
// It checks the chain of commitments from a coin to a signed header:
//
//	coin ──SmtSpec──▶ utxo_root ──TendermintSpec──▶ app_hash ◀── header(height+1).AppHash ◀── light client ◀── trust
//	                  btc_tip   ──TendermintSpec──▶ app_hash
//
// That is:
//
//   - the coin (key = outpoint, value = height/coinbase, amount, script)
//     against the UTXO tree's root, an ICS-23 SmtSpec proof: membership
//     if unspent, non-membership (two adjacent leaves around the
//     outpoint's path) if absent (VerifyCoinMembership, VerifyCoinAbsence);
//   - the root, and the Bitcoin tip (height and block hash), against the
//     v2 app hash, ICS-23 TendermintSpec proofs (VerifyCommitment,
//     VerifyState);
//   - the app hash against the header of the next CometBFT height, which
//     CometBFT's light client verifies from a header the caller already
//     trusts (Verifier, LightVerify, Verify).
//
// VerifyUTXO and VerifyReserves are the pure part: bytes in, verdict
// out, no I/O, well under a millisecond for one coin
// (BenchmarkVerifyUTXO). The builders the server uses (CoinKey,
// CoinValue, SMTExistence, SMTNonExistence, EncodeProof) live here too,
// so that what is written and what is checked are one definition.
//
// A refusal is an *Error naming the Step that failed and wrapping a
// sentinel (ErrProof, ErrAppHash, ErrDuplicate, ...). No input makes it
// panic: every proof is checked against the exact shape the server
// builds before ics23 sees it, since ics23 v0.11.0 indexes without
// checking on hostile proofs, and every call into ics23 runs under
// recover (FuzzDecodeAndVerify).
//
// # What it does not do
//
// It fetches nothing but light blocks, through the provider the caller
// gives it (HTTPProvider reads a CometBFT RPC port); getting the proof
// file is the caller's business, and nothing in it is believed until
// checked. It keeps nothing on disk: a Verifier starts from the caller's
// TrustOptions and keeps, in memory and for its own lifetime, only the
// headers it has verified from them, so that many files at a few heights
// cost a few header verifications; Verify does the same for one file. The
// root of trust is always the caller's, never one cached from a node.
//
// It imports nothing of satnode's node, store, consensus or UTXO engine,
// so a verifier can be built from this package and its dependencies
// alone.
//
// It does not prove what the commitments cannot: that a reserves file
// lists every coin of its addresses (the tree is keyed by outpoint, and a
// "next" cursor says the list is a page), that whoever made the file
// holds the keys, or that the proven Bitcoin tip is Bitcoin's best chain
// (that is the validators' claim, signed like the rest). It verifies only
// app hash version 2; v1 commits to the state but proves nothing about a
// part of it.
//
// # The commitments
//
// UTXO tree (see smt.go): path = sha256(key), leaf = sha256(00 ‖ path ‖
// sha256(value)), inner = sha256(01 ‖ left ‖ right), empty = 32 zero
// bytes, a one-leaf subtree is its leaf; key = txid ‖ u32le(vout), value
// = u32le(height<<1 | coinbase) ‖ i64le(amount) ‖ CompactSize(len) ‖
// script, so key ‖ value is the serialization Bitcoin Core's MuHash
// hashes.
//
// App hash v2: CometBFT's simple Merkle tree over four items sorted by
// name, each uvarint(len(name)) ‖ name ‖ uvarint(32) ‖ sha256(value):
// btc_tip = u32be(height) ‖ block hash (internal byte order), consensus,
// muhash, utxo. The app hash of commit H is in the header of H+1, so a
// file names both (height, header_height).
package verify
