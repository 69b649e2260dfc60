// Package node wires a satnode node together and runs it: it reads a home
// directory, opens the store, builds the block body provider and the ABCI
// application, and runs CometBFT in the same process. It also writes new
// homes: one validator's (Init) or an N-validator localnet's (Testnet).
//
// A home has CometBFT's layout plus satnode's own files:
//
//	config/config.toml               CometBFT's configuration
//	config/app.toml                  satnode's configuration (AppConfig)
//	config/genesis.json              CometBFT's genesis; app_state is app.Genesis
//	config/node_key.json             the P2P identity
//	config/priv_validator_key.json   the ed25519 consensus key
//	data/priv_validator_state.json   CometBFT's double-sign protection
//	data/satnode/                    the goleveldb store: UTXO set and consensus state
//	data/*.db, data/cs.wal/          CometBFT's block store, state and WAL
//	keys/                            the secp256k1 keyring (node/keyring)
//
// Lifecycle (Run, or New + Start + Stop): the store and the application are
// opened before CometBFT, whose handshake replays into the application any
// block it committed that the application did not (see consensus/app's
// Info); on stop, CometBFT stops first, then the application and the store
// are closed. Nothing is written on stop: every block's state reached the
// store in one batch at its Commit.
//
// What it does not do: it holds no consensus logic (consensus/app), does
// not talk to Bitcoin nodes or libp2p peers yet (bodies come from blk files
// only), and serves no RPC of its own beyond CometBFT's.
package node
