package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/satnode/satnode/node/importer"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/utxotest"
)

// The crash test re-executes this test binary as a real `satnode import`
// process (TestHelperProcess), kills it with SIGKILL at random instants,
// and restarts it, many times.
const helperEnv = "SATNODE_HELPER_ARGS"

// TestHelperProcess is not a test: when the crash test (or TestLocalnet)
// starts this binary with SATNODE_HELPER_ARGS set, it runs satnode with
// those arguments.
func TestHelperProcess(t *testing.T) {
	args := os.Getenv(helperEnv)
	if args == "" {
		t.Skip("helper process for TestImportKilledRepeatedly and TestLocalnet")
	}
	root := newRootCmd()
	root.SetArgs(strings.Split(args, "\x1f"))
	if err := root.ExecuteContext(context.Background()); err != nil {
		os.Stderr.WriteString("satnode: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// writeMainnetBlk writes the mainnet fixture as a plain blk file.
func writeMainnetBlk(t *testing.T) string {
	t.Helper()
	data, err := utxotest.ReadFile("mainnet-0-14131.blk.bz2")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "blk00000.dat")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func storeDigest(t *testing.T, dir string) ([32]byte, int) {
	t.Helper()
	s, err := leveldbstore.Open(dir, leveldbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Opening the engine checks the consistency marker.
	e, err := utxo.Open(s, utxo.Config{Params: utxo.MainNet()})
	if err != nil {
		t.Fatalf("store after a kill does not open: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	d, n, err := utxo.ContentDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d, n
}

// TestImportKilledRepeatedly kills a real import process with SIGKILL at
// random instants, restarts it each time, and requires that every interrupted store
// opens consistently and that the finished store is byte-identical to an
// uninterrupted import: same MuHash at every height, same everything.
func TestImportKilledRepeatedly(t *testing.T) {
	src := writeMainnetBlk(t)
	refDir := filepath.Join(t.TempDir(), "ref")
	const stop = 14131
	if _, err := importer.Run(context.Background(), importer.Config{StoreDir: refDir, Sources: []string{src},
		Params: utxo.MainNet(), StopHeight: stop}); err != nil {
		t.Fatal(err)
	}
	want, keys := storeDigest(t, refDir)

	// Runs alternate between two ways of flushing, which must not change
	// the result: after every block with a 1 MiB cache (the import is slow
	// and many kills land inside a flush, in goleveldb's journal), and
	// every 500 blocks with a 64 KiB memtable, so each flush is larger
	// than the memtable and streams through a goleveldb transaction that
	// kills interrupt half-written.
	runs := 0
	run := func(home string) *exec.Cmd {
		flush := []string{"--flush-interval", "1", "--cache-mb", "1"}
		if runs%2 == 1 {
			flush = []string{"--flush-interval", "500", "--cache-mb", "16", "--db-write-buffer-kib", "64"}
		}
		runs++
		args := append([]string{"import", "--home", home, "--network", "mainnet",
			"--stop-height", strconv.Itoa(stop), "--log-level", "warn", src}, flush...)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args, "\x1f"))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	timed := func(home string) time.Duration {
		start := time.Now()
		if err := run(home).Wait(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	// Calibrate: how long a whole import takes, and how long a run that
	// finds nothing to do takes (process start, open, index).
	scratch := t.TempDir()
	full := timed(scratch)
	startup := timed(scratch)
	kills := 25
	if testing.Short() {
		kills = 8
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	home := t.TempDir()
	dir := filepath.Join(home, "data", "satnode")
	killed, finished := 0, 0
	for i := 0; i < kills; i++ {
		cmd := run(home)
		wait := make(chan error, 1)
		go func() { wait <- cmd.Wait() }()
		// Short runs: some die while starting (opening and recovering the
		// store, indexing), most mid-import, at many points of the chain,
		// and the kills never run out of work to interrupt.
		delay := 20*time.Millisecond + time.Duration(rng.Int64N(int64(full)/(2*int64(kills))+1))
		select {
		case err := <-wait:
			// It finished before the kill: the store is complete and
			// later runs find nothing to do.
			if err != nil {
				t.Fatalf("run %d failed: %v", i, err)
			}
			finished++
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-wait
			killed++
		}
		if _, err := os.Stat(dir); err == nil {
			storeDigest(t, dir) // must open: the consistency marker holds
		}
	}
	if err := run(home).Wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	if killed < kills*3/4 {
		t.Fatalf("only %d of %d runs were killed mid-import (full %v, startup %v): the test did not test much", killed, kills, full, startup)
	}
	got, n := storeDigest(t, dir)
	if got != want || n != keys {
		t.Fatalf("after %d kills the store differs from an uninterrupted import (%d keys vs %d)", killed, n, keys)
	}
	t.Logf("full import %v, startup %v; %d kills, %d runs finished before their kill; store identical (%d keys)",
		full.Round(time.Millisecond), startup.Round(time.Millisecond), killed, finished, keys)
}
