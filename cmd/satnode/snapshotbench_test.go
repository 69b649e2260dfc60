package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/coresnap/snapgen"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// TestBenchSnapshotLoad is `make bench-snapshot` (issue 12), not a test:
// with SATNODE_BENCH_SNAPSHOT=N it loads a generated mainnet-like snapshot
// of N coins (cached in SATNODE_BENCH_DIR, default .bench) with
// `satnode snapshot load` at the default cache budget, in its own process,
// and reports coins/s from the command's own timing, the peak RSS of the
// process, and the store's bytes on disk per coin once it is closed. The
// loaded home stays in SATNODE_BENCH_DIR for the benchmarks that follow.
// With SATNODE_MEASURE_OUT it appends the numbers there as a JSON line.
func TestBenchSnapshotLoad(t *testing.T) {
	set := benchSetOf(t)
	coins, dir, file, home := set.coins, set.dir, set.file, set.home
	const height, seed = benchHeight, benchSeed
	if _, err := os.Stat(file); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := snapgen.Config{Network: coresnap.MainNet, Height: height, Coins: coins, Seed: seed}
		if cfg.BaseHash, err = genBaseHash("", cfg.Network, height); err != nil {
			t.Fatal(err)
		}
		if err := genSnapshot(os.Stderr, file, cfg); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}

	// The default --cache-mb: the budget an operator gets.
	args := []string{"snapshot", "load", file, "--home", home, "--network", "mainnet", "--height", strconv.Itoa(height)}
	var out bytes.Buffer
	cmd := snapshotLoadProcArgs(t, args, &out)
	started := time.Now()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	wall := time.Since(started)
	var maxRSS int64 // KiB on Linux
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss
	}
	m := regexp.MustCompile(`snapshot load: loaded (\d+) coins .* in (\S+)\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary line in the load's output:\n%s", out.String())
	}
	loaded, _ := strconv.ParseUint(m[1], 10, 64)
	took, err := time.ParseDuration(m[2])
	if err != nil || loaded != coins {
		t.Fatalf("summary %q: %v", m[0], err)
	}
	// The tree phase's time: the last progress line before the end.
	treeSecs := 0.0
	for _, m := range regexp.MustCompile(`UTXO tree .*\(tree phase (\S+),`).FindAllStringSubmatch(out.String(), -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			treeSecs = d.Seconds()
		}
	}
	var disk int64
	err = filepath.WalkDir(filepath.Join(home, "data", "satnode"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			disk += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tables, err := tableSizes(filepath.Join(home, "data", "satnode"))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]any{
		"bench": "snapshot-load", "coins": coins, "file_bytes": st.Size(), "seconds": took.Seconds(),
		"wall_seconds": wall.Seconds(), "coins_per_s": float64(coins) / took.Seconds(),
		"peak_rss_mib": float64(maxRSS) / 1024, "store_bytes": disk, "store_bytes_per_utxo": float64(disk) / float64(coins),
		"time": time.Now().UTC().Format(time.RFC3339), "tables": tables, "tree_phase_seconds": treeSecs,
	}
	fmt.Printf("SNAPSHOT LOAD: %d coins (%.0f MB file) in %v (UTXO tree phase about %.0f s of it): %.0f coins/s, peak RSS %.0f MiB, store %.0f MB on disk = %.1f bytes per UTXO\n",
		coins, float64(st.Size())/1e6, took, treeSecs, res["coins_per_s"], res["peak_rss_mib"], float64(disk)/1e6, res["store_bytes_per_utxo"])
	for _, tb := range tables {
		if tb.Bytes == 0 && tb.Entries > 0 {
			fmt.Printf("SNAPSHOT LOAD:   table %c: %d entries (%.1f + %.1f bytes raw per entry), still in goleveldb's journal\n",
				tb.Tag, tb.Entries, float64(tb.KeyBytes)/float64(tb.Entries), float64(tb.ValueBytes)/float64(tb.Entries))
			continue
		}
		fmt.Printf("SNAPSHOT LOAD:   table %c: %d entries, %.1f bytes per UTXO in tables (%.1f per entry; keys %.1f, values %.1f bytes raw)\n",
			tb.Tag, tb.Entries, float64(tb.Bytes)/float64(coins), float64(tb.Bytes)/float64(max(tb.Entries, 1)),
			float64(tb.KeyBytes)/float64(max(tb.Entries, 1)), float64(tb.ValueBytes)/float64(max(tb.Entries, 1)))
	}
	appendMeasure(t, res)
}

// tableSize is where a table's bytes go.
type tableSize struct {
	Tag                           byte
	Entries, KeyBytes, ValueBytes int64
	Bytes                         int64 // in goleveldb's tables (SizeOf); the journal is not counted
}

// tableSizes measures the engine's big tables in the store at dir: the
// coins ('c'), the script-hash index ('s') and its counters ('a'), and the
// UTXO tree's leaves ('l') and nodes ('k') (utxo/keys.go).
func tableSizes(dir string) ([]tableSize, error) {
	s, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []tableSize
	var prefixes [][]byte
	for _, tag := range []byte("csalk") {
		prefixes = append(prefixes, []byte{tag, 1})
		ts := tableSize{Tag: tag}
		it := s.Iterate([]byte{tag, 1}, nil)
		for it.Next() {
			ts.Entries++
			ts.KeyBytes += int64(len(it.Key()))
			ts.ValueBytes += int64(len(it.Value()))
		}
		err := it.Err()
		it.Release()
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	sizes, err := s.SizesOf(prefixes)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Bytes = sizes[i]
	}
	return out, nil
}

// The snapshot make bench-snapshot generates: mainnet-like, at 866342.
const benchHeight, benchSeed = 866342, 1

// benchSet is the snapshot file and home of make bench-snapshot's steps:
// SATNODE_BENCH_SNAPSHOT coins, in SATNODE_BENCH_DIR (default .bench).
type benchSet struct {
	coins           uint64
	dir, file, home string
}

// benchSetOf reads the environment, and skips the test without it.
func benchSetOf(t *testing.T) benchSet {
	t.Helper()
	nStr := os.Getenv("SATNODE_BENCH_SNAPSHOT")
	if nStr == "" {
		t.Skip("set SATNODE_BENCH_SNAPSHOT=coins (make bench-snapshot)")
	}
	coins, err := strconv.ParseUint(nStr, 10, 64)
	if err != nil || coins == 0 {
		t.Fatalf("SATNODE_BENCH_SNAPSHOT=%q: want a coin count", nStr)
	}
	dir := os.Getenv("SATNODE_BENCH_DIR")
	if dir == "" {
		dir = ".bench"
	}
	return benchSet{coins: coins, dir: dir,
		// gen2: the generator's second mix (with address reuse); a file
		// of an earlier one is not picked up.
		file: filepath.Join(dir, fmt.Sprintf("snapshot-mainnet-%d-%d-seed%d-gen2.dat", benchHeight, coins, benchSeed)),
		home: filepath.Join(dir, fmt.Sprintf("snapshot-home-%d", coins))}
}

// appendMeasure appends res as a JSON line to SATNODE_MEASURE_OUT, if set.
func appendMeasure(t *testing.T, res map[string]any) {
	t.Helper()
	p := os.Getenv("SATNODE_MEASURE_OUT")
	if p == "" {
		return
	}
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
