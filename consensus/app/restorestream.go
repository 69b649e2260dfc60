package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
)

type batch = utxo.Batch

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
}

// streamErr classifies an error reading the stream: the restore being
// abandoned passes through; a stream that ends early is the snapshot's
// fault.
func streamErr(err error, what string) error {
	if errors.Is(err, errAbandoned) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badSnapshot("the stream ends in its %s", what)
	}
	return fmt.Errorf("app: reading the snapshot's %s: %w", what, err)
}

// restoreFrom reads r's stream from br and restores the state it
// describes: consensus records, then the UTXO set at the base (a resumable
// utxo.SeedStream), then the blocks from the base to the tip, each body
// fetched and checked against its header; then it checks the whole state
// against the light client's app hash and only then commits it.
func (a *App) restoreFrom(r *restore, br *bufio.Reader) (err error) {
	ctx := a.cfg.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// An abandoned restore may be waiting for a body, not reading.
		select {
		case <-r.abandon:
			cancel()
		case <-ctx.Done():
		}
	}()

	magic := make([]byte, len(streamMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return streamErr(err, "magic")
	}
	if !bytes.Equal(magic, streamMagic) {
		return badSnapshot("not a satnode snapshot stream (it starts %x)", magic)
	}
	r.status.phase(PhaseConsensus)
	if err := a.restoreConsensus(br); err != nil {
		return err
	}
	res := r.res
	cons, err := a.checkConsensus(r, res)
	if err != nil {
		return err
	}
	a.log.Info("state sync: consensus records checked against the app hash", "elapsed", r.status.elapsed().Round(time.Millisecond))
	times, err := readTimes(br, r.meta.Base.Height)
	if err != nil {
		return err
	}
	var raw [80]byte
	if _, err := io.ReadFull(br, raw[:]); err != nil {
		return streamErr(err, "base header")
	}
	var hdr wire.BlockHeader
	_ = hdr.Deserialize(bytes.NewReader(raw[:]))
	baseHash := hdr.BlockHash()
	if baseHash.String() != r.meta.Base.Hash {
		return badSnapshot("the base header is block %s, the metadata names %s", baseHash, r.meta.Base.Hash)
	}

	ec := a.engineConfig(res.utxo, res.params)
	ec.ResumeLoad = true
	e, err := utxo.Open(a.cfg.Store, ec)
	if err != nil {
		return fmt.Errorf("app: opening the UTXO engine for the restore: %w", err)
	}
	defer func() {
		if err != nil {
			a.engine = nil
			e.Close()
		}
	}()
	if _, _, ok := e.Tip(); ok {
		// A resumed restore whose set is in: the rest of the stream is
		// the same bytes (each chunk matched its hash), already loaded.
		r.status.phase(PhaseCoins)
		if _, err := io.Copy(io.Discard, br); err != nil {
			return streamErr(err, "UTXO set")
		}
	} else if err := a.restoreSet(r, br, e, utxo.SeedBase{Height: r.meta.Base.Height, Hash: baseHash, Header: &hdr,
		Times: times}); err != nil {
		return err
	}
	a.log.Info("state sync: UTXO set at the base loaded", "height", r.meta.Base.Height, "coins", r.meta.Coins,
		"elapsed", r.status.elapsed().Round(time.Millisecond))
	return a.finishRestore(ctx, r, e, res, cons)
}

// restoreConsensus writes the consensus section's records to the store.
func (a *App) restoreConsensus(br *bufio.Reader) error {
	var prev []byte
	var pending [][2][]byte
	size, total := 0, 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := a.cfg.Store.Update(size+64*len(pending), false, func(b batch) error {
			for _, kv := range pending {
				b.Put(kv[0], kv[1])
			}
			return nil
		})
		pending, size = pending[:0], 0
		return err
	}
	for {
		kl, err := wire.ReadVarInt(br, 0)
		if err != nil {
			return streamErr(err, "consensus records")
		}
		if kl == 0 {
			return flush()
		}
		if kl > maxSnapshotKey {
			return badSnapshot("a consensus key of %d bytes", kl)
		}
		k := make([]byte, kl)
		if _, err := io.ReadFull(br, k); err != nil {
			return streamErr(err, "consensus records")
		}
		vl, err := wire.ReadVarInt(br, 0)
		if err != nil {
			return streamErr(err, "consensus records")
		}
		if vl > maxSnapshotValue {
			return badSnapshot("a consensus value of %d bytes", vl)
		}
		v := make([]byte, vl)
		if _, err := io.ReadFull(br, v); err != nil {
			return streamErr(err, "consensus records")
		}
		if prev != nil && bytes.Compare(k, prev) <= 0 {
			return badSnapshot("consensus keys out of order: %x after %x", k, prev)
		}
		if !slices.ContainsFunc(consensusPrefixes, func(p []byte) bool { return bytes.HasPrefix(k, p) }) {
			return badSnapshot("a record %x outside the consensus tables", k)
		}
		if total += len(k) + len(v); total > maxConsensusBytes {
			return badSnapshot("more than %d bytes of consensus records", maxConsensusBytes)
		}
		prev = k
		pending = append(pending, [2][]byte{k, v})
		if size += len(k) + len(v); size > 8<<20 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// readTimes reads the times section: block times at heights ≤ base.
func readTimes(br *bufio.Reader, base int32) (map[int32]uint32, error) {
	n, err := wire.ReadVarInt(br, 0)
	if err != nil {
		return nil, streamErr(err, "block times")
	}
	if n > uint64(base)+1 {
		return nil, badSnapshot("%d block times for a base at %d", n, base)
	}
	times := make(map[int32]uint32, n)
	var rec [8]byte
	last := int64(-1)
	for range n {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			return nil, streamErr(err, "block times")
		}
		h := int64(binary.LittleEndian.Uint32(rec[:4]))
		if h <= last || h > int64(base) {
			return nil, badSnapshot("a block time at height %d (after %d, base %d)", h, last, base)
		}
		last = h
		times[int32(h)] = binary.LittleEndian.Uint32(rec[4:])
	}
	return times, nil
}

// errStream marks an error of the stream inside SeedStream's.
type errStream struct{ err error }

func (e *errStream) Error() string { return e.err.Error() }
func (e *errStream) Unwrap() error { return e.err }

// restoreSet loads the UTXO set at the base from the stream's Core
// snapshot, resuming an interrupted load of the same snapshot.
func (a *App) restoreSet(r *restore, br *bufio.Reader, e *utxo.Engine, base utxo.SeedBase) error {
	net, err := coresnap.NetworkByName(e.Params().Name)
	if err != nil {
		return err
	}
	cr, err := coresnap.NewReader(br, net, base.Height)
	if err != nil {
		if errors.Is(err, errAbandoned) {
			return err
		}
		return badSnapshot("the UTXO set: %v", err)
	}
	if m := cr.Meta(); m.BaseHash != base.Hash || m.Count != r.meta.Coins {
		return badSnapshot("the UTXO set is of %d coins at %s, the metadata says %d at %s", m.Count, m.BaseHash,
			r.meta.Coins, base.Hash)
	}
	r.status.phase(PhaseCoins)
	next := func() (utxo.SeedCoin, error) {
		op, c, err := cr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return utxo.SeedCoin{}, io.EOF
			}
			return utxo.SeedCoin{}, &errStream{err}
		}
		return utxo.SeedCoin{Outpoint: op, Coin: c}, nil
	}
	opts := utxo.SeedOptions{ExpectedCoins: r.meta.Coins, TempDir: a.cfg.RestoreDir, Now: time.Now,
		Progress: r.status.seed}
	if err := e.SeedStream(base, next, opts); err != nil {
		var se *errStream
		switch {
		case errors.Is(err, errAbandoned):
			return err
		case errors.As(err, &se) || errors.Is(err, utxo.ErrBadSnapshot):
			return badSnapshot("the UTXO set: %v", err)
		}
		return err
	}
	// Nothing may follow the set.
	if _, err := br.ReadByte(); err == nil {
		return badSnapshot("bytes after the UTXO set")
	} else if !errors.Is(err, io.EOF) {
		return streamErr(err, "end")
	}
	return nil
}

// restoredConsensus is the consensus state a snapshot's records give.
type restoredConsensus struct {
	tree  *btcheaders.Tree
	stake *staking.State
	recs  *records
	// path is the chain from the base (excluded) to the tip.
	path []*btcheaders.Node
}

// checkConsensus loads the consensus records the stream wrote and checks
// them, with the set commitments the metadata claims, against the light
// client's app hash: a snapshot of another consensus state is refused
// before its coins are read.
func (a *App) checkConsensus(r *restore, res *resolved) (*restoredConsensus, error) {
	tree, err := btcheaders.Load(a.cfg.Store, res.utxo.Chain, prefixHeaders)
	if err != nil {
		return nil, badSnapshot("the header tree: %v", err)
	}
	stake, err := staking.Load(a.cfg.Store, prefixStaking)
	if err != nil {
		return nil, badSnapshot("the staking state: %v", err)
	}
	recs, err := loadRecords(a.cfg.Store)
	if err != nil {
		return nil, badSnapshot("the endorsement records: %v", err)
	}
	base := tree.Base()
	if base.Height() != r.meta.Base.Height || base.Hash().String() != r.meta.Base.Hash {
		return nil, badSnapshot("the header tree's base is %d %s, the metadata's %d %s", base.Height(), base.Hash(),
			r.meta.Base.Height, r.meta.Base.Hash)
	}
	tipHash, _ := chainhash.NewHashFromStr(r.meta.Tip.Hash)
	tip, ok := tree.Get(*tipHash)
	if !ok || tip.Height() != r.meta.Tip.Height {
		return nil, badSnapshot("the tip %d %s is not in the header tree", r.meta.Tip.Height, r.meta.Tip.Hash)
	}
	c := &restoredConsensus{tree: tree, stake: stake, recs: recs}
	for n := tip; n != base; n = n.Parent() {
		if n == nil || n.Height() <= base.Height() {
			return nil, badSnapshot("the tip %s does not descend from the base", tip.Hash())
		}
		c.path = append(c.path, n)
	}
	slices.Reverse(c.path)
	claimed := apphash.Commitments{UTXORoot: r.meta.UTXORoot, MuHash: r.meta.MuHash, TipHeight: tip.Height(),
		TipHash: *tipHash, Consensus: apphash.ConsensusRoot(stake.Root(), tree.Root(), recs.root())}
	h, err := claimed.Hash(res.hash)
	if err != nil {
		return nil, err
	}
	if h != r.appHash {
		return nil, badSnapshot("its consensus records and set commitments hash to %X, the light client verified %X", h, r.appHash)
	}
	return c, nil
}

// finishRestore connects the blocks from the base to the tip, checks the
// state against the light client's app hash, and commits it.
func (a *App) finishRestore(ctx context.Context, r *restore, e *utxo.Engine, res *resolved, c *restoredConsensus) error {
	tree, stake, recs, path := c.tree, c.stake, c.recs, c.path
	base, tip := tree.Base(), tree.Base()
	if len(path) > 0 {
		tip = path[len(path)-1]
	}
	// On a resumed restore the set may already be part of the way.
	h, hash, _ := e.Tip()
	if h != base.Height() || hash != base.Hash() {
		i := slices.IndexFunc(path, func(n *btcheaders.Node) bool { return n.Hash() == hash })
		if i < 0 {
			return fmt.Errorf("app: the store's UTXO tip %d %s is not on the snapshot's chain: delete the data directory", h, hash)
		}
		path = path[i+1:]
	}
	a.engine = e
	a.quietChanges = true
	defer func() { a.quietChanges = false }()
	r.status.phase(PhaseBlocks)
	r.status.blocks(len(path))
	var unflushed int64
	applied := blockLog{prefix: "state sync: "}
	for i, n := range path {
		blk, size, err := a.body(ctx, n)
		if err != nil {
			return err
		}
		st, err := e.Connect(blk)
		if err != nil {
			return badSnapshot("block %d %s does not connect to the restored set: %v", n.Height(), n.Hash(), err)
		}
		// Flushed as a commit would (every max_btc_bytes_per_block of
		// bodies), so that a restart resumes near here without a flush,
		// and its tree update, per block.
		if unflushed += int64(size); unflushed >= res.params.MaxBTCBytesPerBlock && i < len(path)-1 {
			if err := e.Flush(); err != nil {
				return err
			}
			unflushed = 0
		}
		r.status.block()
		applied.applied(a.log, st)
	}
	applied.flush(a.log)
	r.status.phase(PhaseVerify)
	a.tree, a.stake, a.recs = tree, stake, recs
	a.chainID, a.params, a.hashVersion = a.cfg.Genesis.ChainID, res.params, res.hash
	got, commits, err := a.computeAppHash()
	if err != nil {
		return err
	}
	if got != r.appHash {
		a.tree, a.stake, a.recs = nil, nil, nil
		return badSnapshot("the restored state hashes to %X, the light client verified %X", got, r.appHash)
	}
	err = e.FlushWith(len(r.genesis)+128, func(b utxo.Batch) error {
		b.Put(keyGenesis, r.genesis)
		b.Put(keyMeta, encodeMeta(r.meta.Height, r.appHash))
		b.Delete(keyRestore)
		return nil
	})
	if err != nil {
		return err
	}
	a.engineRef.Store(e)
	a.height, a.appHash, a.commits = r.meta.Height, r.appHash, commits
	a.settling.rebuild(a.recs)
	if err := a.publishView(r.meta.Time); err != nil {
		return err
	}
	r.status.phase(PhaseDone)
	a.log.Info("state sync: state restored and verified", "height", a.height, "app_hash", fmt.Sprintf("%X", a.appHash),
		"btc_tip", tip.Height(), "coins", r.meta.Coins, "took", r.status.elapsed().Round(time.Millisecond))
	return nil
}

// wipeStore deletes every key of the store, in batches, and returns how
// many there were.
func wipeStore(s utxo.Store) (int, error) {
	total := 0
	var from []byte // resume after the last batch: the deleted keys' tombstones are not walked again
	for {
		var keys [][]byte
		it := s.Iterate(nil, from)
		for len(keys) < 100_000 && it.Next() {
			keys = append(keys, bytes.Clone(it.Key()))
		}
		err := it.Err()
		it.Release()
		if err != nil {
			return total, err
		}
		if len(keys) == 0 {
			return total, nil
		}
		err = s.Update(len(keys)*80, false, func(b utxo.Batch) error {
			for _, k := range keys {
				b.Delete(k)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(keys)
		from = append(keys[len(keys)-1], 0)
	}
}
