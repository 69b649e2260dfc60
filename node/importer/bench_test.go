package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/database"
	_ "github.com/btcsuite/btcd/database/ffldb" // btcd's block database driver
	"github.com/btcsuite/btcd/txscript"

	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/node/importer"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// The import benchmark runs each importer in its own process (this test
// binary re-executed), so that each one's peak RSS is its own and neither
// inherits the other's heap. Both read the same blk files through the same
// reader; the times are wall-clock from opening the files to a durable
// store.
const benchHelperEnv = "SATNODE_BENCH_HELPER"

type benchJob struct {
	Kind       string // "satnode" or "btcd"
	Chain      string
	Dir        string
	CacheBytes int64
	NoTree     bool
}

type benchResult struct {
	Seconds      float64
	Blocks       int64
	Txs          int64
	IO           int64 // inputs + outputs
	UTXOs        uint64
	DiskBytes    int64 // store size after the import
	DiskCompact  int64 // store size after a full compaction
	MaxRSSKiB    int64
	ImportSecond float64 // satnode: the import loop alone, without indexing
}

// TestBenchHelper is not a test: it is the child process of BenchmarkImport.
func TestBenchHelper(t *testing.T) {
	spec := os.Getenv(benchHelperEnv)
	if spec == "" {
		t.Skip("child process of BenchmarkImport")
	}
	var job benchJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		t.Fatal(err)
	}
	var res *benchResult
	var err error
	switch job.Kind {
	case "satnode":
		res, err = benchSatnode(job)
	case "btcd":
		res, err = benchBtcd(job)
	default:
		err = fmt.Errorf("unknown job %q", job.Kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench helper:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}

func benchSatnode(job benchJob) (*benchResult, error) {
	// SATNODE_BENCH_CPUPROFILE=DIR writes each satnode import's CPU
	// profile there, named after the job, for `go tool pprof`.
	if dir := os.Getenv("SATNODE_BENCH_CPUPROFILE"); dir != "" {
		name := fmt.Sprintf("import-%dMiB-tree=%v.pprof", job.CacheBytes>>20, !job.NoTree)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	// As `satnode import` does.
	debug.SetMemoryLimit(importer.MemoryLimit(job.CacheBytes))
	store := filepath.Join(job.Dir, "utxo")
	start := time.Now()
	r, err := importer.Run(context.Background(), importer.Config{StoreDir: store, Sources: []string{job.Chain},
		Params: utxo.RegTest(), CacheBytes: job.CacheBytes, NoTree: job.NoTree, ProgressEvery: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return nil, err
	}
	res := &benchResult{Seconds: time.Since(start).Seconds(), Blocks: r.Blocks, Txs: r.Txs, IO: r.Inputs + r.Outputs,
		UTXOs: r.Set.TxOuts, ImportSecond: r.Elapsed.Seconds()}
	if res.DiskBytes, err = dirSize(store); err != nil {
		return nil, err
	}
	s, err := leveldbstore.Open(store, leveldbstore.Options{})
	if err != nil {
		return nil, err
	}
	if err := s.Compact(); err != nil {
		return nil, err
	}
	s.Close()
	// goleveldb deletes a compacted-away table only once nothing reads it,
	// and leaves the rest for the next open: open once more so the size
	// counts live tables only.
	if s, err = leveldbstore.Open(store, leveldbstore.Options{}); err != nil {
		return nil, err
	}
	s.Close()
	res.DiskCompact, err = dirSize(store)
	return res, err
}

// benchBtcd imports the same blocks with btcd's blockchain package as btcd
// itself does during a trusted sync: BFFastAdd (no script or input checks
// beyond what connecting needs) and btcd's default 250 MiB UTXO cache.
func benchBtcd(job benchJob) (*benchResult, error) {
	params := chaincfg.RegressionNetParams
	start := time.Now()
	db, err := database.Create("ffldb", filepath.Join(job.Dir, "btcd"), params.Net)
	if err != nil {
		return nil, err
	}
	chain, err := blockchain.New(&blockchain.Config{DB: db, ChainParams: &params, TimeSource: blockchain.NewMedianTime(),
		SigCache: txscript.NewSigCache(100000), UtxoCacheMaxSize: 250 << 20})
	if err != nil {
		db.Close()
		return nil, err
	}
	ix, err := blkfile.Scan(context.Background(), &params, []string{job.Chain}, nil)
	if err != nil {
		return nil, err
	}
	best, err := ix.BestChain()
	if err != nil {
		return nil, err
	}
	stream, err := best.Blocks(context.Background(), 1, nil)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	res := &benchResult{}
	for stream.Next() {
		blk, err := btcutil.NewBlockFromBytes(stream.Block().Raw)
		if err != nil {
			return nil, err
		}
		if _, _, err := chain.ProcessBlock(blk, blockchain.BFFastAdd); err != nil {
			return nil, fmt.Errorf("btcd rejected block %d: %w", stream.Block().Height, err)
		}
		res.Blocks++
		for _, tx := range blk.MsgBlock().Transactions {
			res.Txs++
			res.IO += int64(len(tx.TxOut))
			if !blockchain.IsCoinBaseTx(tx) {
				res.IO += int64(len(tx.TxIn))
			}
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if err := chain.FlushUtxoCache(blockchain.FlushRequired); err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.DiskBytes, err = dirSize(filepath.Join(job.Dir, "btcd"))
	return res, err
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// runBenchChild runs one importer in a child process and returns its
// result with the child's peak RSS.
func runBenchChild(b *testing.B, job benchJob) *benchResult {
	spec, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchHelper$", "-test.v=false")
	cmd.Env = append(os.Environ(), benchHelperEnv+"="+string(spec))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s import: %v", job.Kind, err)
	}
	var res benchResult
	dec := json.NewDecoder(&out)
	for {
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			b.Fatalf("%s result: %v (%s)", job.Kind, err, out.String())
		}
		if res.Seconds > 0 {
			break
		}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKiB = ru.Maxrss
	}
	return &res
}

// benchChain returns the directory of the generated benchmark chain
// (chaingen's bench profile, seed 1), generating it on first use. Set
// SATNODE_BENCH_DIR to keep it between runs.
func benchChain(b *testing.B) string {
	base := os.Getenv("SATNODE_BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	}
	dir := filepath.Join(base, "chain-bench-seed1")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	b.Logf("generating the benchmark chain in %s (a few minutes, once)", dir)
	_ = os.RemoveAll(dir)
	b.Logf("benchmark chain: %s", writeChain(b, dir, chaingen.BenchConfig()))
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkImport imports the generated benchmark chain (>1M transactions,
// >3M unspent outputs at the end) with satnode at two cache budgets and
// with btcd's blockchain package, each in its own process, and reports
// transactions and inputs+outputs per second, peak RSS, disk bytes per
// UTXO, and satnode's speed relative to btcd. Run it with -benchtime 1x.
func BenchmarkImport(b *testing.B) {
	chain := benchChain(b)
	results := map[string]*benchResult{}
	report := func(b *testing.B, r *benchResult) {
		b.ReportMetric(float64(r.Txs)/r.Seconds, "tx/s")
		b.ReportMetric(float64(r.IO)/r.Seconds, "io/s")
		b.ReportMetric(float64(r.MaxRSSKiB)/1024, "peakRSS_MiB")
		if r.UTXOs > 0 {
			b.ReportMetric(float64(r.DiskCompact)/float64(r.UTXOs), "disk_B/utxo")
		}
	}
	// The UTXO tree's cost: the same import without it, at the default
	// budget.
	type variant struct {
		mb     int64
		noTree bool
	}
	for _, v := range []variant{{256, false}, {256, true}, {4096, false}} {
		mb := v.mb
		name := fmt.Sprintf("satnode/cache=%dMiB", mb)
		if v.noTree {
			name += "/no-tree"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := runBenchChild(b, benchJob{Kind: "satnode", Chain: chain, Dir: b.TempDir(), CacheBytes: mb << 20, NoTree: v.noTree})
				results[name] = r
				report(b, r)
				b.Logf("%s: %d blocks, %d txs, %d in+out, %.1f s (import loop %.1f s), %d UTXOs, store %d B (%d B compacted), peak RSS %d MiB",
					name, r.Blocks, r.Txs, r.IO, r.Seconds, r.ImportSecond, r.UTXOs, r.DiskBytes, r.DiskCompact, r.MaxRSSKiB/1024)
			}
		})
	}
	b.Run("btcd/BFFastAdd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := runBenchChild(b, benchJob{Kind: "btcd", Chain: chain, Dir: b.TempDir()})
			results["btcd"] = r
			report(b, r)
			b.Logf("btcd: %d blocks, %d txs, %.1f s, store %d B, peak RSS %d MiB", r.Blocks, r.Txs, r.Seconds, r.DiskBytes, r.MaxRSSKiB/1024)
		}
	})
	if with, without := results["satnode/cache=256MiB"], results["satnode/cache=256MiB/no-tree"]; with != nil && without != nil {
		b.Logf("with the UTXO tree: %.0f%% of the import rate without it; store %+.1f B/UTXO", 100*without.Seconds/with.Seconds,
			float64(with.DiskCompact-without.DiskCompact)/float64(with.UTXOs))
	}
	if bt := results["btcd"]; bt != nil {
		for name, r := range results {
			if name != "btcd" {
				b.Logf("%s is %.2f× btcd (tx/s)", name, (float64(r.Txs)/r.Seconds)/(float64(bt.Txs)/bt.Seconds))
			}
		}
	}
}
