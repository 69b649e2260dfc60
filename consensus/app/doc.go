// Package app is satnode's replicated state machine: the CometBFT ABCI 2.0
// application that decides which Bitcoin blocks are canonical and applies
// them to the UTXO set.
//
// What it does:
//
//   - Executes the chain's transactions (consensus/tx): transfers and
//     staking through consensus/staking; SubmitHeaders into the Bitcoin
//     header tree (consensus/btcheaders, btcd's header rules, time measured
//     against the CometBFT block time); Endorse, recording which
//     validators vouch for which headers.
//
//   - At the end of every block, marks endorsed the headers whose endorsers
//     hold ≥ 2/3 of the voting power at that time, and moves the UTXO set
//     (utxo.Engine) along the canonical chain — the most-work chain of
//     endorsed blocks above the finalized base — disconnecting back to the
//     fork point on a reorg, connecting at most max_btc_bytes_per_block of
//     bodies per block. A block connected for the first time opens its
//     attendance window: attendance_window blocks later it is settled
//     (attendance.go) — its reward paid to its first submitter and to the
//     active validators that endorsed it, on time or (at late_reward_bps)
//     late, and one round of the validators' signed-blocks window taken.
//     Only bonded, active, unjailed validators may endorse, count toward
//     2/3 and earn. The base follows the tip at finality_depth; a fork
//     below it cannot enter the tree.
//
//   - Bodies come only through a BodyProvider and are checked against their
//     header; a missing one is waited for, never guessed.
//
//   - Commit writes the UTXO changes, headers, staking state, endorsement
//     records and the meta record (height, app hash) in one atomic, synced
//     goleveldb update (utxo.Engine.FlushWith); Info reports that height and
//     app hash so CometBFT's handshake replays anything missing.
//
//   - The app hash is sha256("satnode/apphash/v1" ‖ UTXO MuHash ‖ Bitcoin
//     tip hash ‖ tip height ‖ consensus root), the consensus root covering
//     staking, the header tree and the endorsement records.
//
//   - A chain may start at Bitcoin height 0 or at a later height given with
//     its header ancestry and the MuHash of the UTXO set there; the set
//     itself is imported offline (`satnode import --stop-height`) and
//     checked against that MuHash at InitChain.
//
// What it does not do: networking, fetching bodies (node/ supplies
// providers), running CometBFT (node/), or vote extensions and state sync.
//
// Stored state, beside the engine's lower-case tables: 'H' header tree
// (btcheaders), 'S' staking, 'E' 01 u32be(height) hash → endorsement
// record (records.go), 'A' 01 'm' → u64be(height) ‖ app hash, 'A' 01 'g' →
// the genesis record (JSON: chain id, network, parameters).
package app
