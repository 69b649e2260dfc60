package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/satnode/satnode/utxo/query"
	"github.com/satnode/satnode/utxo/utxotest"
)

const (
	snap14131   = "utxo-mainnet-14131.dat"
	muhash14131 = "859e27f17a6cce9768b75dd0dbd969890157d29a152b0f4a0afa6c67cbcd5975"
)

func utxoInfo(t *testing.T, home string) query.TxOutSetInfo {
	t.Helper()
	var info query.TxOutSetInfo
	if err := json.Unmarshal([]byte(mustRun(t, "utxo", "info", "--home", home)), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

func sameSet(t *testing.T, what string, got, want query.TxOutSetInfo) {
	t.Helper()
	if got.Height != want.Height || got.BestBlock != want.BestBlock || got.TxOuts != want.TxOuts ||
		got.MuHash != want.MuHash || got.TotalAmount != want.TotalAmount || got.BogoSize != want.BogoSize {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
}

// TestSnapshotCLI: Bitcoin Core's snapshot of the mainnet set at 14131
// loads to the set a replay of blocks 0–14131 builds; dumping it writes
// the file again byte for byte; a snapshot dumped at a lower height, from
// the replayed store's undo data, loads and then imports up to 14131 to the
// same set; and a wrong --expect-muhash or a truncated file leaves no
// usable store.
func TestSnapshotCLI(t *testing.T) {
	file, err := utxotest.Path(snap14131)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk := writeMainnetBlk(t)
	replayed := t.TempDir()
	mustRun(t, "import", "--home", replayed, "--network", "mainnet", blk)
	want := utxoInfo(t, replayed)
	if want.MuHash != muhash14131 {
		t.Fatalf("the replay's MuHash is %s", want.MuHash)
	}

	loaded := t.TempDir()
	mustRun(t, "snapshot", "load", file, "--home", loaded, "--height", "14131", "--expect-muhash", muhash14131)
	sameSet(t, "loaded", utxoInfo(t, loaded), want)
	dump := filepath.Join(t.TempDir(), "dump.dat")
	mustRun(t, "snapshot", "dump", dump, "--home", loaded)
	if got, err := os.ReadFile(dump); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("the dump differs from Core's file (%d bytes, want %d): %v", len(got), len(raw), err)
	}

	// The set at 13000, from the replayed store's undo records; loaded
	// and imported on to 14131.
	past := filepath.Join(t.TempDir(), "past.dat")
	mustRun(t, "snapshot", "dump", past, "--home", replayed, "--rollback", "13000")
	resumed := t.TempDir()
	mustRun(t, "snapshot", "load", past, "--home", resumed, "--height", "13000")
	at13000 := utxoInfo(t, resumed)
	var wantAt13000 query.TxOutSetInfo
	if err := json.Unmarshal([]byte(mustRun(t, "utxo", "info", "--home", replayed, "--height", "13000")), &wantAt13000); err != nil {
		t.Fatal(err)
	}
	sameSet(t, "loaded at 13000", at13000, wantAt13000)
	mustRun(t, "import", "--home", resumed, "--network", "mainnet", blk)
	sameSet(t, "loaded at 13000 and imported to 14131", utxoInfo(t, resumed), want)

	// Refused loads leave nothing to answer from.
	bad := t.TempDir()
	wrong := strings.Replace(muhash14131, "859e", "959e", 1)
	if _, err := satnode(t, "snapshot", "load", file, "--home", bad, "--height", "14131", "--expect-muhash", wrong); err == nil ||
		!strings.Contains(err.Error(), "--expect-muhash") {
		t.Fatalf("a wrong --expect-muhash: %v", err)
	}
	if _, err := satnode(t, "utxo", "info", "--home", bad); err == nil {
		t.Fatal("the store of a refused load answers")
	}
	truncated := filepath.Join(t.TempDir(), "truncated.dat")
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cut := t.TempDir()
	if _, err := satnode(t, "snapshot", "load", truncated, "--home", cut, "--height", "14131"); err == nil ||
		!strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a truncated file: %v", err)
	}
	if _, err := satnode(t, "utxo", "info", "--home", cut); err == nil {
		t.Fatal("the store of a truncated load answers")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "load", file, "--home", t.TempDir()}, "--height"},
		{[]string{"snapshot", "load", file, "--home", t.TempDir(), "--height", "14131", "--network", "regtest"}, "mainnet"},
		{[]string{"snapshot", "load", file, "--home", t.TempDir(), "--height", "14000"}, "above"},
		{[]string{"snapshot", "load", file, "--home", loaded, "--height", "14131"}, "not empty"},
		{[]string{"snapshot", "dump", dump, "--home", loaded, "--rollback", "13000"}, "no block at height 13000"},
	} {
		if out, err := satnode(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v (%s), want an error containing %q", c.args, err, out, c.want)
		}
	}
}
