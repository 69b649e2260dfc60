package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/muhash"
	"github.com/satnode/satnode/utxo/query"
)

func newSnapshotCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Load or write Bitcoin Core's UTXO snapshot files (dumptxoutset)",
	}
	cmd.AddCommand(newSnapshotLoadCmd(g), newSnapshotDumpCmd(g))
	return cmd
}

// bitcoinFlags are the options of a Bitcoin node to ask.
type bitcoinFlags struct {
	url, user, password, cookie, cert string
}

func (b *bitcoinFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&b.url, "bitcoin-rpc", "", "a Bitcoin node's JSON-RPC address (http://host:port), to look the base up")
	f.StringVar(&b.user, "bitcoin-user", "", "its RPC user")
	f.StringVar(&b.password, "bitcoin-password", "", "its RPC password")
	f.StringVar(&b.cookie, "bitcoin-cookie", "", "its cookie file (Bitcoin Core's .cookie), instead of user and password")
	f.StringVar(&b.cert, "bitcoin-tls-cert", "", "its TLS certificate (btcd's rpc.cert)")
}

func (b *bitcoinFlags) client() (*btcnode.Client, error) {
	return btcnode.New(btcnode.Config{URL: b.url, User: b.user, Password: b.password, CookieFile: b.cookie,
		TLSCertFile: b.cert, Timeout: 30 * time.Second})
}

func newSnapshotLoadCmd(g *globals) *cobra.Command {
	var (
		network, expect string
		height          int32
		cacheMB         int64
		btc             bitcoinFlags
	)
	cmd := &cobra.Command{
		Use:   "load FILE",
		Short: "Load a Bitcoin Core UTXO snapshot into the empty store of --home",
		Long: `Load reads a snapshot that Bitcoin Core's "bitcoin-cli dumptxoutset" wrote
(format version 2) into the empty UTXO store of --home: the coins, the
script-hash index with its counters, the totals and the MuHash, with the
snapshot's base block as the tip. "satnode import" then continues from the
block above it, and a chain can start on it.

The file does not say its base block's height: give it with --height, or
let --bitcoin-rpc look the base up in a Bitcoin node (both: they must
agree). With --expect-muhash the loaded set must have that MuHash (as
Bitcoin Core's "gettxoutsetinfo muhash" prints it), or the load is refused.

It enforces Bitcoin Core's rules on the file and streams it, with memory
bounded by --cache-mb, printing coins/s, MB/s and the time left. Interrupt it
at any time (Ctrl-C, or a kill): the store is not usable until the load is
done, and running the same command again resumes it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			params, err := utxo.ParamsFor(network)
			if err != nil {
				return err
			}
			want, err := coresnap.NetworkByName(network)
			if err != nil {
				return err
			}
			var wantMu *muhash.Digest
			if expect != "" {
				d, err := muhash.ParseDigest(expect)
				if err != nil {
					return fmt.Errorf("--expect-muhash: %w", err)
				}
				wantMu = &d
			}
			setMemoryLimit(cacheMB << 20)
			return loadSnapshot(cmd.Context(), g, cmd.ErrOrStderr(), cmd.OutOrStdout(), loadOptions{file: args[0],
				params: params, network: want, height: height, cacheBytes: cacheMB << 20, expect: wantMu, btc: btc})
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "mainnet", "network: mainnet, testnet3, signet or regtest")
	f.Int32Var(&height, "height", -1, "height of the snapshot's base block (default: ask --bitcoin-rpc)")
	f.StringVar(&expect, "expect-muhash", "", "the MuHash the loaded set must have (64 hex digits, as Core prints it)")
	f.Int64Var(&cacheMB, "cache-mb", utxo.DefaultCacheBytes>>20, "memory budget for coins and counters in MiB")
	btc.add(cmd)
	return cmd
}

type loadOptions struct {
	file       string
	params     *utxo.Params
	network    coresnap.Network
	height     int32
	cacheBytes int64
	expect     *muhash.Digest
	btc        bitcoinFlags
}

// loadSnapshot is satnode snapshot load.
func loadSnapshot(ctx context.Context, g *globals, log, out io.Writer, o loadOptions) error {
	f, err := os.Open(o.file)
	if err != nil {
		return err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	// The header first, for the base hash the height may be looked up by.
	peek := bufio.NewReaderSize(f, coresnap.HeaderSize)
	head, err := peek.Peek(coresnap.HeaderSize)
	if err != nil {
		return fmt.Errorf("%s: %w: not a snapshot (shorter than its %d-byte header)", o.file, err, coresnap.HeaderSize)
	}
	probe, err := coresnap.NewReader(bytes.NewReader(head), o.network, 1<<31-1)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	meta := probe.Meta()
	base := utxo.SeedBase{Height: o.height, Hash: meta.BaseHash}
	if o.btc.url != "" {
		c, err := o.btc.client()
		if err != nil {
			return fmt.Errorf("--bitcoin-rpc: %w", err)
		}
		h, err := c.BlockHeader(ctx, meta.BaseHash)
		if err != nil {
			return fmt.Errorf("looking up the snapshot's base %s in the Bitcoin node: %w", meta.BaseHash, err)
		}
		if o.height >= 0 && o.height != h.Height {
			return fmt.Errorf("--height %d, but the Bitcoin node has the base %s at height %d", o.height, meta.BaseHash, h.Height)
		}
		hdr := h.Header
		base.Height, base.Header = h.Height, &hdr
	}
	if base.Height < 0 {
		return fmt.Errorf("the snapshot's base is %s; give its height with --height, or --bitcoin-rpc to look it up", meta.BaseHash)
	}

	dir := g.storeDir()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	// A load writes in sequence and reads only to resume: goleveldb's
	// block cache would hold nothing worth keeping.
	s, err := leveldbstore.Open(dir, leveldbstore.Options{BlockCacheBytes: 8 << 20})
	if err != nil {
		return fmt.Errorf("%w (is another satnode using this home?)", err)
	}
	defer s.Close()
	if os.Getenv("GOMEMLIMIT") == "" {
		// The load holds about the budget, goleveldb's memtables and
		// buffers; without a limit the collector lets the heap grow to
		// twice what is live, and the process to twice the budget.
		debug.SetMemoryLimit(o.cacheBytes + loadMemSlack)
	}
	e, err := utxo.Open(s, utxo.Config{Params: o.params, CacheBytes: o.cacheBytes, ResumeLoad: true})
	if err != nil {
		return err
	}
	resuming := false
	if ld, err := utxo.NewReader(s).LoadState(); err == nil {
		resuming = true
		fmt.Fprintf(log, "snapshot load: resuming after %d coins (%d chunks) of the load of %s at %d\n",
			ld.Coins, ld.Chunks, ld.BaseHash, ld.BaseHeight)
	}
	r, err := coresnap.NewReader(peek, o.network, base.Height)
	if err != nil {
		return errors.Join(fmt.Errorf("%s: %w", o.file, err), e.Close())
	}
	next := func() (utxo.SeedCoin, error) {
		if err := ctx.Err(); err != nil {
			return utxo.SeedCoin{}, fmt.Errorf("interrupted (run the same command again to resume): %w", err)
		}
		op, c, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("%s: %w", o.file, err)
			}
			return utxo.SeedCoin{}, err
		}
		return utxo.SeedCoin{Outpoint: op, Coin: c}, nil
	}
	started := time.Now()
	// The sorted runs of index entries go beside the store, on the same
	// disk: about 85 bytes a coin until the index is built.
	opts := utxo.SeedOptions{ExpectedCoins: meta.Count, Now: time.Now, BytesRead: r.Offset,
		TempDir:  dir + ".load-tmp",
		Progress: func(p utxo.SeedProgress) { printLoadProgress(log, p, size) }}
	if o.expect != nil {
		opts.Verify = func(d [32]byte) error {
			if got := muhash.Digest(d); got != *o.expect {
				return fmt.Errorf("%w: the loaded set has MuHash %s, --expect-muhash is %s: the file is not the set "+
					"expected; delete %s and load the right file", utxo.ErrBadSnapshot, got, *o.expect, dir)
			}
			return nil
		}
	}
	if err := e.SeedStream(base, next, opts); err != nil {
		if errors.Is(err, utxo.ErrBadSnapshot) || errors.As(err, new(*coresnap.Error)) {
			err = fmt.Errorf("%w\nthe store at %s is not usable: delete it to start again", err, dir)
		}
		return errors.Join(err, e.Close())
	}
	if err := e.Close(); err != nil {
		return err
	}
	info, err := query.GetTxOutSetInfo(utxo.NewReader(s), -1)
	if err != nil {
		return err
	}
	verb := "loaded"
	if resuming {
		verb = "finished loading"
	}
	fmt.Fprintf(log, "snapshot load: %s %d coins at %d (%s) in %v\n", verb, info.TxOuts, base.Height, base.Hash,
		time.Since(started).Round(time.Millisecond))
	return printJSON(out, info)
}

// loadMemSlack is what a load may hold beyond the cache budget: two
// goleveldb memtables (64 MiB each), the update's chunks and the MuHash
// jobs in flight, and the runs' read buffers while they are merged.
const loadMemSlack = 320 << 20

// printLoadProgress prints one progress line: coins, rate, MB/s and time
// left.
func printLoadProgress(w io.Writer, p utxo.SeedProgress, size int64) {
	secs := p.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	if p.Phase == utxo.LoadIndex && !p.Done {
		line := fmt.Sprintf("snapshot load: script-hash index %d/%d entries", p.Indexed, p.Coins)
		if p.Coins > 0 {
			line += fmt.Sprintf(" (%.1f%%)", 100*float64(p.Indexed)/float64(p.Coins))
		}
		if s := p.IndexElapsed.Seconds(); s > 0 && p.Indexed > p.IndexSkipped {
			rate := float64(p.Indexed-p.IndexSkipped) / s
			line += fmt.Sprintf(", %.0f entries/s", rate)
			if p.Coins > p.Indexed {
				line += fmt.Sprintf(", ETA %v", time.Duration(float64(p.Coins-p.Indexed)/rate*float64(time.Second)).Round(time.Second))
			}
		}
		fmt.Fprintln(w, line+fmt.Sprintf(" (%v since the load began)", p.Elapsed.Round(time.Second)))
		return
	}
	if p.Phase == utxo.LoadTree && !p.Done {
		line := fmt.Sprintf("snapshot load: UTXO tree %d/%d leaves", p.TreeLeaves, p.Coins)
		if p.Coins > 0 {
			line += fmt.Sprintf(" (%.1f%%)", 100*float64(p.TreeLeaves)/float64(p.Coins))
		}
		if s := p.TreeElapsed.Seconds(); s > 0 && p.TreeLeaves > 0 {
			rate := float64(p.TreeLeaves) / s
			line += fmt.Sprintf(", %.0f leaves/s", rate)
			if p.Coins > p.TreeLeaves {
				line += fmt.Sprintf(", ETA %v", time.Duration(float64(p.Coins-p.TreeLeaves)/rate*float64(time.Second)).Round(time.Second))
			}
		}
		fmt.Fprintln(w, line+fmt.Sprintf(" (tree phase %v, %v since the load began)", p.TreeElapsed.Round(time.Second),
			p.Elapsed.Round(time.Second)))
		return
	}
	line := fmt.Sprintf("snapshot load: %d/%d coins", p.Read, p.Expected)
	if p.Expected > 0 {
		line += fmt.Sprintf(" (%.1f%%)", 100*float64(p.Read)/float64(p.Expected))
	}
	rate := float64(p.Read-p.Skipped) / secs
	line += fmt.Sprintf(", %.0f coins/s", rate)
	if p.Bytes >= 0 {
		line += fmt.Sprintf(", %.1f MB/s", float64(p.Bytes)/secs/1e6)
	}
	if p.Done {
		line += ", done"
	} else if rate > 0 && p.Expected > p.Read {
		eta := time.Duration(float64(p.Expected-p.Read) / rate * float64(time.Second))
		line += fmt.Sprintf(", ETA %v", eta.Round(time.Second))
	}
	if size > 0 && p.Bytes >= 0 {
		line += fmt.Sprintf(" [%d/%d MB]", p.Bytes>>20, size>>20)
	}
	fmt.Fprintln(w, line)
}

func newSnapshotDumpCmd(g *globals) *cobra.Command {
	var rollback int32
	cmd := &cobra.Command{
		Use:   "dump FILE",
		Short: "Write the UTXO set of --home as a Bitcoin Core snapshot file",
		Long: `Dump writes the UTXO set of the store in --home in the format of Bitcoin
Core's "dumptxoutset" (version 2), with the bytes Core writes for the same
set: loading a file and dumping it again reproduces it byte for byte. With
--rollback HEIGHT it writes the set at that past height, as Core's
"dumptxoutset rollback" does, undoing the blocks above it in passing
(within the store's undo depth). The file is written to FILE.tmp and
renamed when complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withReader(g, func(r *utxo.Reader, p *utxo.Params) error {
				return dumpSnapshot(r, p, args[0], rollback, cmd.ErrOrStderr())
			})
		},
	}
	cmd.Flags().Int32Var(&rollback, "rollback", -1, "write the set at this past height (default: the tip)")
	return cmd
}

func dumpSnapshot(r *utxo.Reader, p *utxo.Params, path string, height int32, log io.Writer) error {
	st, err := r.State()
	if err != nil {
		return err
	}
	if height < 0 {
		height = st.TipHeight
	}
	net, err := coresnap.NetworkByName(p.Name)
	if err != nil {
		return err
	}
	rec, err := r.BlockRecord(height)
	if err != nil {
		return fmt.Errorf("no block at height %d in the store: %w", height, err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var w *coresnap.Writer
	started := time.Now()
	err = r.SetAt(height, func(n uint64) error {
		w = coresnap.NewWriter(bw, coresnap.Meta{Network: net, BaseHash: rec.Hash, Count: n})
		return nil
	}, func(op utxo.Outpoint, c utxo.Coin) error { return w.Write(op, c) })
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(log, "snapshot dump: the set at %d (%s) written to %s in %v\n", height, rec.Hash, path,
		time.Since(started).Round(time.Millisecond))
	return nil
}
