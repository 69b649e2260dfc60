package app

import (
	"errors"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// countingSnap counts releases.
type countingSnap struct {
	utxo.KVReader
	released *int
}

func (s countingSnap) Release() { *s.released++ }

func TestViewsKeepProofWindow(t *testing.T) {
	var views Views
	released := 0
	store := memstore.New()
	const n = ProofWindow + 10
	for h := int64(1); h <= n; h++ {
		views.Publish(&View{Height: h}, countingSnap{store, &released}, nil)
	}
	if released != n-ProofWindow {
		t.Fatalf("%d snapshots released, want %d", released, n-ProofWindow)
	}
	oldest := int64(n - ProofWindow + 1)
	v, err := views.AcquireAt(oldest)
	if err != nil || v.Height != oldest {
		t.Fatalf("AcquireAt(%d): %v", oldest, err)
	}
	for _, h := range []int64{oldest - 1, n + 1, 0} {
		if _, err := views.AcquireAt(h); !errors.Is(err, ErrViewGone) {
			t.Fatalf("AcquireAt(%d): %v, want ErrViewGone", h, err)
		}
	}
	// The held view outlives its leaving the window.
	views.Publish(&View{Height: n + 1}, countingSnap{store, &released}, nil)
	if released != n-ProofWindow {
		t.Fatalf("a held view's snapshot was released")
	}
	v.Release()
	if released != n-ProofWindow+1 {
		t.Fatalf("the last holder's release did not free the snapshot")
	}
	cur, err := views.Acquire()
	if err != nil || cur.Height != n+1 {
		t.Fatalf("Acquire: %v", err)
	}
	cur.Release()
	views.Close()
	if released != n+1 {
		t.Fatalf("Close released %d of %d snapshots", released, n+1)
	}
}
