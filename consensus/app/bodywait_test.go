package app

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"

	"github.com/satnode/satnode/consensus/tx"
)

// TestWrongBodyIsWaitedFor: a provider serving a body whose transactions
// do not match the header's merkle root is not believed — the block is not
// declared invalid, the application waits (here until the context ends,
// as at shutdown). After a restart with the right body available, the
// same block applies.
func TestWrongBodyIsWaitedFor(t *testing.T) {
	chain := genChain(t, 4, 3)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	h.mustOK() // a committed state to restart from
	txs := append(h.submit(chain[1:2]), h.endorse(0, 1, chain[1:2])...)
	bad := append([]byte{}, chain[1]...)
	bad[len(bad)-5] ^= 1 // inside the coinbase: the merkle root no longer matches
	if err := h.bodies.Add(bad); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := h.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h.height + 1, Time: h.now.Add(5 * time.Second), Txs: txs})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FinalizeBlock with a wrong body: %v, want it waiting until the context ended", err)
	}
	// CometBFT stops on the error; on restart it replays the block.
	h.app.Close()
	h.app = h.open()
	if err := h.bodies.Add(chain[1]); err != nil {
		t.Fatal(err)
	}
	h.mustOK(txs...)
	if h.btcTip() != 1 {
		t.Fatalf("tip %d after the right body arrived", h.btcTip())
	}
}

// TestBodyWaitBlocksNoReader: while FinalizeBlock waits for a body nobody
// has, on the consensus connection of CometBFT's per-connection local
// client (what the node uses), CheckTx, Query and Info answer on theirs
// from the committed state; when the node's context ends, the wait ends
// and FinalizeBlock fails without committing, although CometBFT's own
// context never ends.
func TestBodyWaitBlocksNoReader(t *testing.T) {
	chain := genChain(t, 4, 3)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	h.mustOK()
	txs := append(h.submit(chain[1:2]), h.endorse(0, 1, chain[1:2])...)
	h.app.Close()
	nodeCtx, stop := context.WithCancel(context.Background())
	defer stop()
	a, err := New(Config{Store: h.store, Bodies: NewMemBodies(), BodyRetry: 10 * time.Millisecond, Context: nodeCtx})
	if err != nil {
		t.Fatal(err)
	}
	h.app = a
	creator := proxy.NewConnSyncLocalClientCreator(a)
	conn := func() abcicli.Client {
		c, err := creator.NewABCIClient()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	consensus, mempool, query := conn(), conn(), conn()

	done := make(chan error, 1)
	go func() {
		_, err := consensus.FinalizeBlock(context.TODO(), &abci.RequestFinalizeBlock{Height: h.height + 1,
			Time: h.now.Add(5 * time.Second), Txs: txs})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // inside the body wait by now
	within := func(what string, f func() error) {
		t.Helper()
		res := make(chan error, 1)
		go func() { res <- f() }()
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s blocked behind FinalizeBlock", what)
		}
	}
	spend := h.sign(h.vals[0].op, tx.Transfer{To: h.sync.addr, Amount: 1})
	within("CheckTx", func() error {
		res, err := mempool.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: spend})
		if err == nil && res.Code != 0 {
			err = errors.New(res.Log)
		}
		return err
	})
	within("Query", func() error {
		res, err := query.Query(context.Background(), &abci.RequestQuery{Path: "/btc-tip"})
		if err == nil && (res.Code != 0 || res.Height != h.height) {
			err = fmt.Errorf("code %d at height %d, committed %d", res.Code, res.Height, h.height)
		}
		return err
	})
	within("Info", func() error {
		res, err := query.Info(context.Background(), &abci.RequestInfo{})
		if err == nil && res.LastBlockHeight != h.height {
			err = fmt.Errorf("Info at %d, committed %d", res.LastBlockHeight, h.height)
		}
		return err
	})
	select {
	case err := <-done:
		t.Fatalf("FinalizeBlock returned without the body: %v", err)
	default:
	}
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("FinalizeBlock after the node's context ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FinalizeBlock still waiting after the node's context ended")
	}
}
