package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// snapshotLoadProc starts `satnode snapshot load` in a helper process
// (TestHelperProcess), its output kept in out.
func snapshotLoadProc(t *testing.T, file, home string, height int32, cacheMB int, out io.Writer) *exec.Cmd {
	t.Helper()
	return snapshotLoadProcArgs(t, []string{"snapshot", "load", file, "--home", home, "--network", "mainnet",
		"--height", strconv.Itoa(int(height)), "--cache-mb", strconv.Itoa(cacheMB)}, out)
}

// snapshotLoadProcArgs starts satnode with args in a helper process.
func snapshotLoadProcArgs(t *testing.T, args []string, out io.Writer) *exec.Cmd {
	t.Helper()
	args = append(args, "--log-level", "warn")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args, "\x1f"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestSnapshotLoadKilledRepeatedly (issue 12, crash safety): a generated
// mainnet-like snapshot is loaded with a 1 MiB cache budget, so that the
// load is dozens of chunks and index updates, once without interruption
// (home A) and once (home B) by a real `satnode snapshot load` process
// killed with SIGKILL at random instants 20 times and restarted with the
// same command: a few kills while it starts, most while it reads coins,
// the last ones while it builds the script-hash index. Between kills
// `satnode utxo info` must refuse the half-loaded store rather than answer
// from part of a set, and at the end B's store must be byte for byte A's.
func TestSnapshotLoadKilledRepeatedly(t *testing.T) {
	const (
		coins      = 300_000
		height     = 866342
		cacheMB    = 1
		kills      = 20
		indexKills = 6 // the last ones, timed from the start of the index phase
	)
	file := filepath.Join(t.TempDir(), "gen.dat")
	mustRun(t, "gen", "snapshot", file, "--coins", strconv.Itoa(coins), "--network", "mainnet",
		"--height", strconv.Itoa(height), "--seed", "12")

	// A, uninterrupted; its phases' durations calibrate the kills.
	refHome := t.TempDir()
	w := newPhaseWatch()
	start := time.Now()
	if err := snapshotLoadProc(t, file, refHome, height, cacheMB, w).Wait(); err != nil {
		t.Fatalf("uninterrupted load: %v\n%s", err, w)
	}
	full := time.Since(start)
	indexing := full - w.indexAt.Sub(start)
	if w.indexAt.IsZero() {
		t.Fatalf("no index phase in the load's output:\n%s", w)
	}
	want, keys := storeDigest(t, filepath.Join(refHome, "data", "satnode"))
	var info query.TxOutSetInfo
	if err := json.Unmarshal([]byte(mustRun(t, "utxo", "info", "--home", refHome)), &info); err != nil || info.TxOuts != coins {
		t.Fatalf("the uninterrupted load: %+v, %v", info, err)
	}

	// B, killed. Each restart pays the process start and re-reads the
	// coins already on disk, so with delays of full/kills on average past
	// the start the kills land all along the coins phase and rarely after
	// it. The last kills wait for the index phase of their run, then hit
	// it in its first quarter (of an uninterrupted index phase's time), so
	// that several land before the index is done.
	rng := rand.New(rand.NewPCG(2026, 12))
	home := t.TempDir()
	var (
		killed, killedIndexing, incomplete, empty int
		finished                                  bool
		at                                        []string // the coin counts of the incomplete stores
	)
	for i := 0; i < kills && !finished; i++ {
		w := newPhaseWatch()
		cmd := snapshotLoadProc(t, file, home, height, cacheMB, w)
		wait := make(chan error, 1)
		go func() { wait <- cmd.Wait() }()
		var timer <-chan time.Time
		switch {
		case i < 3:
			timer = time.After(time.Duration(rng.Int64N(int64(150 * time.Millisecond)))) // starting: before the first chunk, or just after
		case i < kills-indexKills:
			timer = time.After(150*time.Millisecond + time.Duration(rng.Int64N(int64(full)*2/kills)))
		default:
			delay := time.Duration(rng.Int64N(int64(indexing) / 4))
			select {
			case <-w.indexing:
				timer = time.After(delay)
			case err := <-wait:
				wait <- err // finished before its index phase was seen: handled below
			}
		}
		select {
		case err := <-wait:
			if err != nil {
				t.Fatalf("run %d failed: %v\n%s", i, err, w)
			}
			finished = true
		case <-timer:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-wait
			killed++
			if w.indexAt.IsZero() {
				break
			}
			killedIndexing++
		}
		// Whatever the kill interrupted, the store must not answer
		// unless the load is complete.
		res, err := satnode(t, "utxo", "info", "--home", home)
		switch {
		case err == nil:
			if err := json.Unmarshal([]byte(res), &info); err != nil || info.TxOuts != coins {
				t.Fatalf("after kill %d the store answers with %d coins, not the whole set: %v", i, info.TxOuts, err)
			}
		case errors.Is(err, utxo.ErrLoadIncomplete):
			incomplete++
			// "…: utxo: snapshot load incomplete: N of M coins …"
			_, rest, _ := strings.Cut(err.Error(), "incomplete: ")
			at = append(at, strings.Fields(rest + " ?")[0])
		case strings.Contains(err.Error(), "no UTXO store") || strings.Contains(err.Error(), "has no state"):
			empty++ // killed before the first chunk was written
		default:
			t.Fatalf("after kill %d: utxo info: %v", i, err)
		}
	}
	if !finished {
		w := newPhaseWatch()
		if err := snapshotLoadProc(t, file, home, height, cacheMB, w).Wait(); err != nil {
			t.Fatalf("final run: %v\n%s", err, w)
		}
	}
	if killed < kills*3/4 || incomplete < kills/2 || killedIndexing < indexKills/2 {
		t.Fatalf("%d of %d runs killed (%d in the index phase), %d left an incomplete load (full load %v, its index phase %v): the test did not test much",
			killed, kills, killedIndexing, incomplete, full, indexing)
	}
	got, n := storeDigest(t, filepath.Join(home, "data", "satnode"))
	if got != want || n != keys {
		t.Fatalf("after %d kills the store differs from an uninterrupted load (%d keys vs %d):\n%s", killed, n, keys,
			storeDiff(t, filepath.Join(refHome, "data", "satnode"), filepath.Join(home, "data", "satnode")))
	}
	t.Logf("full load %v (index phase %v); %d kills: %d before the first chunk, %d mid-load (refused by utxo info; coins on disk: %s), "+
		"%d in the index phase; store identical (%d keys)",
		full.Round(time.Millisecond), indexing.Round(time.Millisecond), killed, empty, incomplete, strings.Join(at, " "),
		killedIndexing, keys)
}

// phaseWatch collects a load's output and tells when its index phase
// begins (the first progress line about the script-hash index).
type phaseWatch struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	indexing chan struct{}
	indexAt  time.Time // read only after the process has exited
}

func newPhaseWatch() *phaseWatch { return &phaseWatch{indexing: make(chan struct{})} }

func (w *phaseWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.indexAt.IsZero() && bytes.Contains(w.buf.Bytes(), []byte("script-hash index")) {
		w.indexAt = time.Now()
		close(w.indexing)
	}
	return len(p), nil
}

func (w *phaseWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// storeDiff describes the first keys where two stores differ.
func storeDiff(t *testing.T, a, b string) string {
	t.Helper()
	dump := func(dir string) map[string]string {
		s, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		m := map[string]string{}
		it := s.Iterate(nil, nil)
		defer it.Release()
		for it.Next() {
			m[string(it.Key())] = string(it.Value())
		}
		return m
	}
	ma, mb := dump(a), dump(b)
	var diffs []string
	for k, va := range ma {
		if vb, ok := mb[k]; !ok || vb != va {
			key, _ := utxo.ParseKey([]byte(k))
			diffs = append(diffs, fmt.Sprintf("%s: %x vs %x (present %v)", key, va, vb, ok))
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			key, _ := utxo.ParseKey([]byte(k))
			diffs = append(diffs, fmt.Sprintf("%s: only in the killed store", key))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs[:min(len(diffs), 8)], "\n") + fmt.Sprintf("\n(%d differences)", len(diffs))
}
