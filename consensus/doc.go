// Package consensus will hold satnode's CometBFT ABCI application: the
// transaction codec, the Bitcoin header chain, staking, endorsement, fork
// choice, rewards and the app hash. It is built on utxo and never imports
// p2p, rpc or node.
//
// Not yet implemented: this package is the subject of the consensus issue
// and contains no code yet.
package consensus
