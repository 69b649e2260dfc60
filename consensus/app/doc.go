// Package app is satnode's replicated state machine: the CometBFT ABCI 2.0
// application that decides which Bitcoin blocks are canonical and applies
// them to the UTXO set.
//
// What it does:
//
//   - Charges every transaction its fee (fee_base + fee_per_byte × size)
//     before executing it, and keeps the mempool and proposals honest
//     (fees.go): CheckTx admits only an account's next MempoolNonceWindow
//     nonces and fees its committed balance covers beside what its waiting
//     transactions reserved; PrepareProposal puts SubmitHeaders and
//     Endorse first and caps the others at max_other_tx_bytes;
//     ProcessProposal rejects a proposal with a nonce gap, an unpayable fee
//     or another order, so no transaction in a block rides for free.
//
//   - Executes the chain's transactions (consensus/tx): transfers and
//     staking through consensus/staking; SubmitHeaders into the Bitcoin
//     header tree (consensus/btcheaders, btcd's header rules, time measured
//     against the CometBFT block time, at most max_headers_ahead above the
//     canonical tip and max_headers_per_block a block); Endorse, recording
//     which validators vouch for which headers.
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
//     header; a missing one is waited for, never guessed, until the node's
//     context (Config.Context) ends: then FinalizeBlock fails, nothing is
//     committed, and the block is replayed at the next start.
//
//   - Runs on CometBFT's per-connection locks: only the consensus
//     connection touches the live state. CheckTx, Info and Query read the
//     committed View each Commit publishes (view.go), so they go on while a
//     block executes or waits for a body. Per-block work follows what
//     changed, not the size of the state: the header tree and the
//     endorsement records keep incremental roots and indexes
//     (recordset.go), and views share the staking summary and page the
//     records from the store instead of copying them.
//
//   - Commit writes the UTXO changes, headers, staking state, endorsement
//     records and the meta record (height, app hash) in one atomic, synced
//     goleveldb update (utxo.Engine.FlushWith); Info reports that height and
//     app hash so CometBFT's handshake replays anything missing.
//
//   - The app hash covers the UTXO set, its Bitcoin tip and the consensus
//     root (staking, the header tree and the endorsement records), in the
//     format the genesis's app_hash_version names (consensus/apphash
//     documents both). v1, the default of a genesis without the field:
//     sha256("satnode/apphash/v1" ‖ UTXO MuHash ‖ Bitcoin tip hash ‖ tip
//     height ‖ consensus root). v2, what `satnode init` and `testnet`
//     write: a CometBFT simple Merkle root over the named commitments
//     btc_tip, consensus, muhash and utxo (the UTXO tree's root), each
//     provable with ICS-23's TendermintSpec as a Cosmos SDK store is
//     against its multistore root, so a coin's proof against the UTXO tree
//     chains to the app hash. Each View carries the version and the
//     commitments of its commit (for v2, Commitments.Root() == AppHash);
//     they are not stored but recomputed at load, and a store whose state
//     does not hash to its meta record's app hash is refused.
//
//   - A chain may start at Bitcoin height 0 or at a later height given with
//     its header ancestry and the MuHash of the UTXO set there; the set
//     itself is imported offline (`satnode import --stop-height`) and
//     checked against that MuHash at InitChain.
//
//   - State sync (snapshot.go, restore*.go): every snapshot interval it
//     writes, from a committed View on a goroutine of its own, a snapshot
//     of the state (SnapshotFormat: the consensus records, then the UTXO
//     set at the finalized base in Bitcoin Core's dumptxoutset encoding)
//     in chunks whose hashes the metadata carries, and serves them
//     (ListSnapshots, LoadSnapshotChunk). A joiner (OfferSnapshot,
//     ApplySnapshotChunk) checks each chunk against its hash, the
//     consensus records against the light client's app hash before any
//     coin, loads the set (utxo.SeedStream: index and tree built from
//     it), connects the blocks from the base to the tip with bodies from
//     its providers, and commits only a state that hashes to that app
//     hash. The chain id and parameters come from the joiner's own genesis
//     (Config.Genesis), never from a peer. An interrupted restore leaves a
//     store New treats as empty and the next offer resumes (the same
//     snapshot) or wipes.
//
// What it does not do: networking, fetching bodies (node/ supplies
// providers), running CometBFT (node/), or vote extensions.
//
// Stored state, beside the engine's lower-case tables: 'H' header tree
// (btcheaders), 'S' staking, 'E' 01 u32be(height) hash → endorsement
// record (records.go), 'E' 02 hash → u32be(height) (the records by hash), 'A' 01 'm' → u64be(height) ‖ app hash, 'A' 01 'r' → the hash of the
// snapshot a state-sync restore is writing (restore.go), 'A' 01 'g' →
// the genesis record (JSON: chain id, network, parameters, app hash version;
// a record without the version, written before v2, is v1).
package app
