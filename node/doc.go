// Package node wires a satnode node together and runs it: it reads a home
// directory, opens the store, the body store, the Bitcoin node client and
// the libp2p host, builds the body chain (store, blk files, libp2p peers,
// the Bitcoin node over JSON-RPC, Bitcoin peers over the Bitcoin P2P
// protocol, node/btcpeer) and the ABCI application, runs CometBFT in the same
// process, and starts the synchronizer and endorser roles app.toml turns
// on (node/live). It also writes new homes: one validator's (Init) or an
// N-validator localnet's (Testnet). It reports the way a joining node goes
// (state syncing, catching up, live) in /v1/status and a progress log line
// with an ETA (syncstatus.go).
//
// A home has CometBFT's layout plus satnode's own files:
//
//	config/config.toml               CometBFT's configuration
//	config/app.toml                  satnode's configuration (AppConfig)
//	config/genesis.json              CometBFT's genesis; app_state is app.Genesis
//	config/node_key.json             CometBFT's P2P identity
//	config/p2p_key                   the libp2p identity (bodies)
//	config/priv_validator_key.json   the ed25519 consensus key
//	data/priv_validator_state.json   CometBFT's double-sign protection
//	data/satnode/                    the goleveldb store: UTXO set and consensus state
//	data/bodies/                     checked Bitcoin block bodies, kept to serve peers
//	data/snapshots/                  state-sync snapshots this node serves (consensus/snapshots)
//	data/statesync-tmp/              a state-sync restore's sorted index runs, while it runs
//	data/*.db, data/cs.wal/          CometBFT's block store, state and WAL
//	keys/                            the secp256k1 keyring (node/keyring)
//
// Lifecycle (Run, or New + Start + Stop): the store, the libp2p host and
// the application are opened before CometBFT, whose handshake replays into
// the application any block it committed that the application did not (see
// consensus/app's Info); the roles start after CometBFT. On stop, the roles
// stop first, then CometBFT, then the application, the host and the stores
// are closed. Nothing is written on stop: every block's state reached the
// store in one batch at its Commit.
//
// What it does not do: it holds no consensus logic (consensus/app) and
// serves no RPC of its own beyond CometBFT's (the ABCI queries).
package node
