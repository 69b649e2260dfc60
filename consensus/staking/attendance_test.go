package staking

import (
	"bytes"
	"strings"
	"testing"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo/memstore"
)

// TestSignedBlocksWindow: with a window of 6 and at most 2 missed, a
// validator missing every third round is never jailed (no 6 consecutive
// rounds hold 3 misses), however long it goes on; a third miss within
// 6 rounds jails it.
func TestSignedBlocksWindow(t *testing.T) {
	h := newHarness(t, testGenesis())
	for i := 0; i < 60; i++ {
		signed := []tx.Address{op(1), op(2), op(3)}
		if i%3 == 0 {
			signed = signed[1:] // op 1 misses
		}
		if jailed := h.round(t0, signed...); len(jailed) != 0 {
			t.Fatalf("round %d: jailed %v", i, jailed)
		}
		if got, want := h.val(op(1)).Missed, uint32(min(i/3+1, 2)); got != want {
			t.Fatalf("round %d: missed %d, want %d", i, got, want)
		}
	}
	// Round 60 misses (the third in rounds 55..60), so does 61.
	h.round(t0, op(2), op(3))
	if jailed := h.round(t0, op(2), op(3)); len(jailed) != 1 || jailed[0] != op(1) {
		t.Fatalf("jailed %v", jailed)
	}
	if v := h.val(op(1)); v.Missed != 0 || !v.Jailed {
		t.Fatalf("validator %+v", v)
	}
}

// TestWindowStorage: a window of 1000 rounds spans two bitmap chunks; a
// round rewrites one of them; chunks with no bit set are deleted; the
// state reloads to the same root; jailing deletes every record of the
// window.
func TestWindowStorage(t *testing.T) {
	g := testGenesis()
	g.Params.DowntimeWindow, g.Params.DowntimeMaxMissed = 1000, 600
	h := newHarness(t, g)
	st := memstore.New()
	count := func(tag byte) int {
		n := 0
		for _, kv := range dump(st) {
			if kv[0][1] == tag {
				n++
			}
		}
		return n
	}
	for i := 0; i < 1000; i++ {
		if i == 3 || i == 600 {
			h.round(t0, op(2), op(3)) // op 1 misses rounds 3 and 600
		} else {
			h.round(t0, op(1), op(2), op(3))
		}
	}
	commit(t, h.State, st)
	// Three windows ('w'), op 1's two chunks ('m'): bits 3 and 600.
	if count(tagWindow) != 3 || count(tagMissed) != 2 || h.val(op(1)).Missed != 2 {
		t.Fatalf("%d windows, %d chunks, missed %d", count(tagWindow), count(tagMissed), h.val(op(1)).Missed)
	}
	loaded, err := Load(st, testPrefix)
	if err != nil || loaded.Root() != h.Root() {
		t.Fatalf("reload: %v", err)
	}
	// Rounds 1000..1003 overwrite positions 0..3: bit 3 clears, so the
	// first chunk goes.
	for i := 0; i < 4; i++ {
		h.round(t0, op(1), op(2), op(3))
	}
	commit(t, h.State, st)
	if count(tagMissed) != 1 || h.val(op(1)).Missed != 1 {
		t.Fatalf("%d chunks, missed %d", count(tagMissed), h.val(op(1)).Missed)
	}
	// A double sign jails op 1: its window is gone.
	_, err = h.SlashDoubleSign(consKey(0x11), 1, t0)
	h.ok(err)
	commit(t, h.State, st)
	if count(tagWindow) != 2 || count(tagMissed) != 0 {
		t.Fatalf("%d windows, %d chunks after jailing", count(tagWindow), count(tagMissed))
	}
	if loaded, err := Load(st, testPrefix); err != nil || loaded.Root() != h.Root() {
		t.Fatalf("reload: %v", err)
	}
}

// TestWindowLayout pins the window records of doc.go.
func TestWindowLayout(t *testing.T) {
	g := testGenesis()
	h := newHarness(t, g)
	h.round(t0, op(2), op(3)) // op 1 misses position 0
	h.round(t0, op(2), op(3)) // and 1
	st := memstore.New()
	commit(t, h.State, st)
	o := op(1)
	for _, rec := range []struct {
		key   []byte
		value string
	}{
		{append([]byte{'S', 'w', 1}, o[:]...), "00000002"},
		{append(append([]byte{'S', 'm', 1}, o[:]...), 0, 0), "c0" + strings.Repeat("00", 63)},
	} {
		got, err := st.Get(rec.key)
		if err != nil || !bytes.Equal(got, unhex(t, rec.value)) {
			t.Fatalf("key %x: value %x (%v), want %s", rec.key, got, err, rec.value)
		}
	}
}
