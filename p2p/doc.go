// Package p2p moves Bitcoin block bodies between satnode nodes over libp2p,
// so that consensus carries only 80-byte headers and every body travels
// once per link instead of through the chain.
//
// What it does:
//
//   - LoadOrCreateIdentity keeps the node's libp2p key (Ed25519) in a file,
//     so its peer id survives restarts.
//   - BodyStore keeps verified bodies by block hash in goleveldb, with
//     their heights, and prunes, by the committed canonical tip the node
//     passes in, those older than a retention window and those more than
//     MaxBodyLead above the tip (so an entry stored at an absurd height
//     cannot stay forever).
//   - Host is a libp2p host (TCP only; no relay, NAT traversal or mDNS)
//     that gossips block announcements (height, header, size) on the
//     gossipsub topic "/satnode/<chain-id>/blocks/1", serves bodies from
//     the BodyStore on "/satnode/<chain-id>/body/1", and fetches bodies
//     from peers with size caps and timeouts. There is one fetch in
//     flight per hash: concurrent Fetch calls for it share the result. A
//     fetched body is handed to a Verifier the node supplies and is kept
//     and returned only if it passes.
//   - A peer that serves a wrong body or breaks the protocol is
//     penalised. Penalties decay: a score halves every PenaltyHalfLife
//     (default 10 minutes), so only a burst of offences bans. At BanScore
//     the peer is disconnected and refused for BanDuration by a libp2p
//     ConnectionGater, by peer id and by the addresses of its live
//     connections: the IPv4 address, the IPv6 /64, or on loopback the IP
//     and port (localnets put every honest node on 127.0.0.0/8). Peers
//     connected from a banned address are disconnected too. The same
//     penalty lowers the peer's gossipsub score. The scoreboard and the
//     address bans are bounded in memory, since ids are free to mint.
//
// What it does not do:
//
//   - It never writes chain state. Bodies reach the UTXO set only through
//     consensus (FinalizeBlock, Commit), which checks them again against
//     the committed header; p2p is one body source among several.
//   - It does not know Bitcoin headers or heights. Whether a body is the
//     block of a hash, and at what height, is the Verifier's answer; an
//     announcement is checked for form only (its hash is computed from its
//     header, never taken from the sender), not against the header chain.
//     Its height is a peer's word: the node must not act on it. The node
//     fetches only announced hashes that are in its committed header tree,
//     verifies at the tree's height, and prunes by its committed tip.
//   - It does not decide what to fetch, announce or prune, or when: the
//     node does (on announcements, on headers committed, on new tips).
//   - It does no peer discovery beyond the configured bootstrap peers and
//     whoever connects; there is no DHT.
//
// Wire formats are in wire.go, the store's key layout in store.go.
package p2p
