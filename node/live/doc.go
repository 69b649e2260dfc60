// Package live holds the two roles that connect a satnode node to a real
// Bitcoin node while it runs: the synchronizer, which follows its Bitcoin
// node and submits the headers of its best chain to the sidechain (and
// hands the bodies to the node's body store and libp2p announcements), and
// the endorser, which endorses the pending headers its validator's own
// Bitcoin node has in its best chain and whose verified body it holds.
//
// Both read the sidechain through ABCI queries and write to it through
// signed transactions (a Chain, normally the node's in-process CometBFT
// client), and read Bitcoin through the three JSON-RPC calls every Bitcoin
// node answers (a Bitcoin). They act when their Bitcoin node's tip moves
// (polled) and when the sidechain commits a block (signalled), keep no
// state that a restart would need, and may submit the same thing twice:
// the application skips headers it knows.
//
// What they do not do: decide anything. The application checks every
// header and every body; a synchronizer that lies only wastes its own
// transactions, and an endorser's word counts only with its stake.
package live
