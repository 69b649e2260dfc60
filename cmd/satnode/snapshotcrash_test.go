package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// snapshotLoadProc starts `satnode snapshot load` in a helper process
// (TestHelperProcess), its output kept in out.
func snapshotLoadProc(t *testing.T, file, home string, height int32, cacheMB int, out *bytes.Buffer) *exec.Cmd {
	t.Helper()
	return snapshotLoadProcArgs(t, []string{"snapshot", "load", file, "--home", home, "--network", "mainnet",
		"--height", strconv.Itoa(int(height)), "--cache-mb", strconv.Itoa(cacheMB)}, out)
}

// snapshotLoadProcArgs starts satnode with args in a helper process.
func snapshotLoadProcArgs(t *testing.T, args []string, out *bytes.Buffer) *exec.Cmd {
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
// load is dozens of chunks, once without interruption (home A) and once
// (home B) by a real `satnode snapshot load` process killed with SIGKILL
// at random instants 20 times and restarted with the same command: a few
// kills while it starts, most mid-load. Between kills `satnode utxo info`
// must refuse the half-loaded store rather than answer from part of a set,
// and at the end B's store must be byte for byte A's.
func TestSnapshotLoadKilledRepeatedly(t *testing.T) {
	const (
		coins   = 300_000
		height  = 866342
		cacheMB = 1
		kills   = 20
	)
	file := filepath.Join(t.TempDir(), "gen.dat")
	mustRun(t, "gen", "snapshot", file, "--coins", strconv.Itoa(coins), "--network", "mainnet",
		"--height", strconv.Itoa(height), "--seed", "12")

	// A, uninterrupted; its duration calibrates the kills.
	refHome := t.TempDir()
	var out bytes.Buffer
	start := time.Now()
	if err := snapshotLoadProc(t, file, refHome, height, cacheMB, &out).Wait(); err != nil {
		t.Fatalf("uninterrupted load: %v\n%s", err, out.String())
	}
	full := time.Since(start)
	want, keys := storeDigest(t, filepath.Join(refHome, "data", "satnode"))
	var info query.TxOutSetInfo
	if err := json.Unmarshal([]byte(mustRun(t, "utxo", "info", "--home", refHome)), &info); err != nil || info.TxOuts != coins {
		t.Fatalf("the uninterrupted load: %+v, %v", info, err)
	}

	// B, killed. Each restart pays the process start and re-reads the
	// coins already on disk, so with delays of full/kills on average past
	// the start the kills land all along the load and rarely after its
	// end, and the final run finishes it.
	rng := rand.New(rand.NewPCG(2026, 12))
	home := t.TempDir()
	var (
		killed, finished, incomplete, empty int
		at                                  []string // the coin counts of the incomplete stores
	)
	for i := range kills {
		var delay time.Duration
		if i < 3 {
			delay = time.Duration(rng.Int64N(int64(150 * time.Millisecond))) // starting: before the first chunk, or just after
		} else {
			delay = 150*time.Millisecond + time.Duration(rng.Int64N(int64(full)*2/kills))
		}
		out.Reset()
		cmd := snapshotLoadProc(t, file, home, height, cacheMB, &out)
		wait := make(chan error, 1)
		go func() { wait <- cmd.Wait() }()
		select {
		case err := <-wait:
			if err != nil {
				t.Fatalf("run %d failed: %v\n%s", i, err, out.String())
			}
			finished++
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-wait
			killed++
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
	out.Reset()
	if err := snapshotLoadProc(t, file, home, height, cacheMB, &out).Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out.String())
	}
	if killed < kills*3/4 || incomplete < kills/2 {
		t.Fatalf("%d of %d runs killed, %d left an incomplete load (full load %v): the test did not test much",
			killed, kills, incomplete, full)
	}
	got, n := storeDigest(t, filepath.Join(home, "data", "satnode"))
	if got != want || n != keys {
		t.Fatalf("after %d kills the store differs from an uninterrupted load (%d keys vs %d)", killed, n, keys)
	}
	t.Logf("full load %v; %d kills: %d before the first chunk, %d mid-load (refused by utxo info; coins on disk: %s), "+
		"%d runs finished before their kill; store identical (%d keys)",
		full.Round(time.Millisecond), killed, empty, incomplete, strings.Join(at, " "), finished, keys)
}
