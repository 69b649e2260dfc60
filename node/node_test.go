package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// freeAddr returns a tcp://127.0.0.1:port address that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// initFast writes a one-validator home on free local ports that makes a
// block every 100ms.
func initFast(t *testing.T) (home, rpc string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), "home")
	rpc = freeAddr(t)
	if _, err := Init(InitOptions{Home: home, ChainID: "satnode-node-test", Moniker: "solo", Network: "regtest",
		P2PAddr: freeAddr(t), RPCAddr: rpc, APIAddr: strings.TrimPrefix(freeAddr(t), "tcp://")}); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consensus.TimeoutCommit = 100 * time.Millisecond
	// Without peers PEX has nothing to do, and CometBFT's address book
	// saves itself from a goroutine after the node stopped (see Stop),
	// racing the removal of the test's directory.
	cfg.P2P.PexReactor = false
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	ac, err := LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ac.UTXO.CacheMB = 16
	if err := WriteAppConfig(home, ac); err != nil {
		t.Fatal(err)
	}
	return home, rpc
}

// waitHeight waits until the node at rpc reports a height of at least h and
// returns the height and its app hash.
func waitHeight(t *testing.T, rpc string, h int64) (int64, []byte) {
	t.Helper()
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.Status(ctx)
		cancel()
		if err == nil && st.SyncInfo.LatestBlockHeight >= h {
			return st.SyncInfo.LatestBlockHeight, st.SyncInfo.LatestAppHash
		}
		if time.Now().After(deadline) {
			t.Fatalf("height %d not reached in 30s (last: %v, %v)", h, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunStopRestart runs a one-validator node in process: blocks are
// made; a second node on the same home is refused while the first runs;
// cancelling the context stops it cleanly; a restart resumes, and the block
// after the last height committed before the stop carries the app hash the
// application reported for that height.
func TestRunStopRestart(t *testing.T) {
	home, rpc := initFast(t)
	var logs lockedBuffer
	// run starts Run; the cleanup stops it unless the test did.
	run := func(ctx context.Context, cancel context.CancelFunc) chan error {
		done := make(chan error, 1)
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			done <- Run(ctx, home, Options{LogOutput: &logs, LogLevel: "error"})
		}()
		t.Cleanup(func() { cancel(); <-finished })
		return done
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := run(ctx, cancel)
	waitHeight(t, rpc, 3)

	if _, err := New(context.Background(), home, Options{LogOutput: io.Discard}); err == nil ||
		!strings.Contains(err.Error(), "another node") {
		t.Fatalf("a second node on the same home: %v", err)
	}
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		t.Fatal(err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	ctx, cancel = context.WithCancel(context.Background())
	done = run(ctx, cancel)
	// Info after the restart names the last height committed before it
	// (the node has not made a new block yet right after start, or has
	// made a few: either way the next block carries that app hash).
	info, err := c.ABCIInfo(context.Background())
	for deadline := time.Now().Add(20 * time.Second); err != nil; info, err = c.ABCIInfo(context.Background()) {
		select {
		case err := <-done:
			t.Fatalf("restarted node stopped: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted node's RPC does not answer: %v\n%s", err, logs.String())
		}
	}
	last := info.Response.LastBlockHeight
	waitHeight(t, rpc, last+2)
	next := last + 1
	b, err := c.Block(context.Background(), &next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Block.AppHash, info.Response.LastBlockAppHash) || len(b.Block.AppHash) != 32 {
		t.Fatalf("block %d carries app hash %X, the application reported %X for height %d",
			next, b.Block.AppHash, info.Response.LastBlockAppHash, last)
	}
	if last < 3 {
		t.Fatalf("after restart the application reports height %d, before the stop it was at 3 or more", last)
	}
}

// lockedBuffer collects the log of a node's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNewErrors: a directory that is not a home, and a home with a broken
// key or genesis, are errors that say what is wrong, not exits or panics.
func TestNewErrors(t *testing.T) {
	if _, err := New(context.Background(), t.TempDir(), Options{LogOutput: io.Discard}); !errors.Is(err, ErrConfig) {
		t.Fatalf("empty dir: %v", err)
	}
	home, _ := initFast(t)
	cfg, _ := LoadCometConfig(home)
	if err := os.WriteFile(cfg.PrivValidatorStateFile()+".bak", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cfg.PrivValidatorStateFile(), cfg.PrivValidatorStateFile()+".bak"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), home, Options{LogOutput: io.Discard}); !errors.Is(err, ErrConfig) ||
		!strings.Contains(err.Error(), "sign state") {
		t.Fatalf("missing sign state: %v", err)
	}
	if err := os.WriteFile(cfg.PrivValidatorKeyFile(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), home, Options{LogOutput: io.Discard}); !errors.Is(err, ErrConfig) {
		t.Fatalf("corrupt key: %v", err)
	}
	if err := os.WriteFile(cfg.GenesisFile(), []byte(`{"chain_id":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), home, Options{LogOutput: io.Discard}); err == nil {
		t.Fatal("a broken genesis was accepted")
	}
	if _, err := New(context.Background(), home, Options{LogOutput: io.Discard, LogLevel: "chatty"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad log level: %v", err)
	}
}

// TestClosedReads: a CometBFT database read after it was closed answers
// "not there" instead of an error, which the block store would panic on.
func TestClosedReads(t *testing.T) {
	db, err := dbm.NewGoLevelDB("t", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := closedReads{db}
	if err := c.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("open: %q %v", v, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("closed Get: %q %v", v, err)
	}
	if ok, err := c.Has([]byte("k")); err != nil || ok {
		t.Fatalf("closed Has: %v %v", ok, err)
	}
	if _, err := db.Get([]byte("k")); err == nil {
		t.Fatal("the raw database answered after Close: the guard is not needed any more")
	}
}
