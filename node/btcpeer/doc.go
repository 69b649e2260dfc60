// Package btcpeer fetches Bitcoin block bodies from Bitcoin nodes (Bitcoin
// Core, btcd) over the Bitcoin P2P protocol, so that a satnode node with no
// Bitcoin RPC, whose libp2p peers have all pruned a body, can still get it
// from any Bitcoin node that has it.
//
// A Pool holds a fixed list of addresses (Config.Addrs), asked in that
// order. It connects to each lazily, at the first Block that needs it: an
// outbound TCP connection handed to a btcd peer (github.com/btcsuite/btcd/peer),
// which runs the version handshake on the network of Config.Params, with
// user agent "/btcwire:0.5.0/satnode:<version>/", no services (it serves
// nothing) and no transaction relay. A connection is kept and reused; one
// that fails (refused, handshake broken, dropped, junk, too many silent
// requests) is redialled only after a backoff that doubles per failure, so
// a dead peer is not hammered.
//
// Block sends getdata for the witness block and waits for the block message
// whose header hashes to the hash asked for, or for notfound, or for
// RequestTimeout. Concurrent calls for different hashes share a connection
// (at most 32 blocks in flight on it); calls for the same hash share one
// request. A peer that answers notfound, does not answer in time or
// disconnects makes Block ask the next one; if none supplies the block the
// error wraps ErrNotFound and each peer's answer (PeerError).
//
// Nothing a peer sends is trusted. Who protects against what:
//
//   - the wire package bounds every message (32 MB, 4 MB for a block, the
//     per-type limits) and refuses a bad checksum or another network's
//     magic; the pool drops the connection on any such read error. The peer
//     package alone would keep reading after a malformed message from
//     127.0.0.1 or localhost on regtest, a leniency for btcd's own tests
//     (Peer.isAllowedReadError); the pool's
//     OnRead listener disconnects first, so it does not apply here.
//   - the pool drops a block nobody asked for, or another block than the
//     one asked for; refuses one above Config.MaxBlockBytes; and drops the
//     connection, backing the peer off, for a block whose transactions do
//     not match its header's merkle root (or, if it carries witness data,
//     its witness commitment).
//   - the pool refuses a peer without NODE_WITNESS or older than protocol
//     70012 during the handshake, and drops a connection after three
//     requests in a row left unanswered.
//   - the peer package answers pings, pings an idle peer every 2 min and
//     disconnects one silent for 5 min, and its stall handler disconnects a
//     peer that leaves a getdata unanswered for 30 s. Bitcoin Core does not
//     answer getdata for a block it lacks, so such a connection is dropped
//     after Block has moved on (RequestTimeout), and redialled by a later
//     Block after the backoff.
//   - inv, addr, tx, headers, getdata and every other message reach no
//     listener and are ignored.
//
// What it does not do: it checks no height-dependent rule and does not know
// which chain a hash belongs to — the caller checks every body against the
// header it asked for (node's liveBodies, app.CheckBody) before using it. It
// does not discover peers (no addr relay, no DNS seeds), listen for inbound
// connections, serve blocks, or relay anything.
package btcpeer
