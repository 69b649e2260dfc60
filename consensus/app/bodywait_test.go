package app

import (
	"context"
	"errors"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
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
