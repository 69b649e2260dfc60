// Package btcdtest starts real btcd regtest nodes for tests, so that
// satnode's synchronizers and endorsers can be tested against the node
// software they will read in production, not a mock.
//
// Binaries builds btcd and btcctl once per test process (and per machine,
// thanks to a cache directory) at the version go.mod requires. Start runs
// one btcd process per call with its own datadir under the test's temp
// dir, a random RPC password, RPC and P2P on free 127.0.0.1 ports, plain
// http RPC (--notls) and an empty config file (-C), so no configuration
// outside the temp dir is read and no data is written outside it. (btcd
// does create an empty ~/.btcd at every start, whatever its flags say: it
// finds the home directory through os/user, so not even HOME moves it.)
// The node's output goes to Dir/btcd.out, whose tail is logged when the test fails. The process is
// killed by the test's cleanup, and on Linux also by the kernel if the test
// binary dies first.
//
// Node has helpers for what tests do to a chain: SubmitBlock (for blocks
// from utxo/chaingen), Generate, InvalidateBlock/ReconsiderBlock, Connect
// (two nodes as peers), WaitHeight/WaitTip, Stop/Kill/Restart, and Btcctl
// to run the command-line client. Every wait is bounded. btcd wipes its
// block database whenever it starts in regtest mode, so Restart replays
// the best chain saved by Stop or Kill (see Restart).
//
// What it does not do: it does not run Bitcoin Core, mainnet or testnet
// nodes, wallets (btcwallet), or anything listening beyond loopback; and
// it shares no node between tests: each Start is a new, empty chain.
package btcdtest
