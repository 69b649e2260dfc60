package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/snapshots"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/memstore"
)

// syncSource is a regtest chain run to its Bitcoin tip with snapshots
// made at every satnode height (interval 1, small chunks), and the state
// of each height kept for the joiner's light client.
type syncSource struct {
	h        *harness
	store    *snapshots.Store
	chain    [][]byte
	appHash  map[int64][]byte
	finality int32
}

func newSyncSource(t *testing.T, blocks int) *syncSource {
	t.Helper()
	dir := t.TempDir()
	ss, err := snapshots.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &syncSource{store: ss, chain: genChain(t, 7, blocks), appHash: map[int64][]byte{}, finality: 12}
	s.h = newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6},
		params: func(p *Params) { p.FinalityDepth = s.finality },
		cfg: func(c *Config) {
			c.Snapshots = SnapshotConfig{Store: ss, Interval: 1, KeepRecent: 100, ChunkBytes: snapshots.MinChunkBytes}
		}})
	half := blocks / 2
	s.step(s.h.submit(s.chain[1 : half+1])...)
	s.step(s.h.endorse(0, 1, s.chain[1:half+1])...)
	s.step(s.h.submit(s.chain[half+1:])...)
	s.step(s.h.endorse(0, int32(half+1), s.chain[half+1:])...)
	if tip := s.h.btcTip(); tip != int32(blocks) {
		t.Fatalf("source tip %d", tip)
	}
	return s
}

// step commits a block on the source, waits for its snapshot and records
// its app hash.
func (s *syncSource) step(txs ...[]byte) {
	s.h.t.Helper()
	res := s.h.mustOK(txs...)
	s.h.app.snapWG.Wait()
	s.appHash[s.h.height] = res.AppHash
}

// snapshot returns the source's snapshot of height, as ListSnapshots
// lists it.
func (s *syncSource) snapshot(t *testing.T, height int64) *abci.Snapshot {
	t.Helper()
	res, err := s.h.app.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range res.Snapshots {
		if int64(sn.Height) == height {
			return sn
		}
	}
	t.Fatalf("no snapshot of height %d among %d", height, len(res.Snapshots))
	return nil
}

func (s *syncSource) chunk(t *testing.T, sn *abci.Snapshot, i uint32) []byte {
	t.Helper()
	res, err := s.h.app.LoadSnapshotChunk(context.Background(), &abci.RequestLoadSnapshotChunk{Height: sn.Height,
		Format: sn.Format, Chunk: i})
	if err != nil || len(res.Chunk) == 0 {
		t.Fatalf("chunk %d of %d: %v", i, sn.Height, err)
	}
	return res.Chunk
}

func (s *syncSource) joiner(t *testing.T, store utxo.Store) *App {
	t.Helper()
	a, err := New(Config{Store: store, Bodies: s.h.bodies, BodyRetry: time.Millisecond,
		Genesis: GenesisDoc{ChainID: testChainID, AppState: s.h.state}, RestoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// apply offers sn to a with the light client's app hash and feeds it every
// chunk from the source, as CometBFT's syncer does; it returns the last
// chunk's result.
func (s *syncSource) apply(t *testing.T, a *App, sn *abci.Snapshot, appHash []byte, stopAfter int) abci.ResponseApplySnapshotChunk_Result {
	t.Helper()
	ctx := context.Background()
	off, err := a.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: sn, AppHash: appHash})
	if err != nil || off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer of %d: %v %v", sn.Height, off.GetResult(), err)
	}
	var last abci.ResponseApplySnapshotChunk_Result
	for i := uint32(0); i < sn.Chunks; i++ {
		if stopAfter >= 0 && int(i) == stopAfter {
			return -1
		}
		res, err := a.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: s.chunk(t, sn, i), Sender: "honest"})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Result
		if last != abci.ResponseApplySnapshotChunk_ACCEPT {
			return last
		}
	}
	return last
}

// sameTables fails unless the two stores hold the same coins, script-hash
// entries and UTXO tree, byte for byte.
func sameTables(t *testing.T, a, b utxo.KVReader) {
	t.Helper()
	for _, p := range []string{"c\x01", "s\x01", "l\x01", "k\x01"} {
		ia, ib := a.Iterate([]byte(p), nil), b.Iterate([]byte(p), nil)
		n := 0
		for {
			na, nb := ia.Next(), ib.Next()
			if na != nb {
				t.Fatalf("table %q: one store has more records (after %d)", p[:1], n)
			}
			if !na {
				break
			}
			if !bytes.Equal(ia.Key(), ib.Key()) || !bytes.Equal(ia.Value(), ib.Value()) {
				t.Fatalf("table %q differs at record %d: %x vs %x", p[:1], n, ia.Key(), ib.Key())
			}
			n++
		}
		ia.Release()
		ib.Release()
		if n == 0 && p != "k\x01" {
			t.Fatalf("table %q is empty", p[:1])
		}
	}
}

// TestStateSync: a joiner restores the source's latest snapshot (the set
// at the finalized base, then the blocks to the tip from its body
// provider), reports the source's height and app hash, holds the same
// coins, index and tree, and then follows the chain block for block.
func TestStateSync(t *testing.T) {
	s := newSyncSource(t, 60)
	height := s.h.height
	sn := s.snapshot(t, height)
	if sn.Chunks < 10 {
		t.Fatalf("only %d chunks: the test wants many", sn.Chunks)
	}
	var m snapshotMeta
	if err := json.Unmarshal(sn.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	if m.Tip.Height != 60 || m.Base.Height != 60-s.finality {
		t.Fatalf("snapshot base %d tip %d", m.Base.Height, m.Tip.Height)
	}
	store := memstore.New()
	j := s.joiner(t, store)
	if r := s.apply(t, j, sn, s.appHash[height], -1); r != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("restore: %v", r)
	}
	info, _ := j.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != height || !bytes.Equal(info.LastBlockAppHash, s.appHash[height]) {
		t.Fatalf("joiner at %d %X, source at %d %X", info.LastBlockHeight, info.LastBlockAppHash, height, s.appHash[height])
	}
	if st := j.RestoreStatus(); st.Phase != PhaseDone || st.Blocks != int(s.finality) || st.Chunks != int(sn.Chunks) {
		t.Fatalf("status %+v", st)
	}
	sameTables(t, store, s.h.store)

	// The joiner follows: the same blocks give the same app hashes, on
	// the restored App and on one reopened from its store.
	more := genChain(t, 7, 75)[61:]
	sub := j.Views().Subscribe(16)
	for round, txs := range [][][]byte{s.h.submit(more), s.h.endorse(0, 61, more), nil} {
		if round == 2 {
			// The views' subscribers saw the blocks the restored App
			// connected, and none of those its restore connected.
			var heights []int32
			for len(sub.C) > 0 {
				for _, c := range (<-sub.C).Blocks {
					heights = append(heights, c.Height)
				}
			}
			if len(heights) != len(more) || heights[0] != 61 {
				t.Fatalf("events for blocks %v, want 61..75", heights)
			}
			j.Close()
			j = s.joiner(t, store)
		}
		res := s.h.mustOK(txs...)
		jr, err := j.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: s.h.height, Time: s.h.now, Txs: txs})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(jr.AppHash, res.AppHash) {
			t.Fatalf("height %d: joiner app hash %X, source %X", s.h.height, jr.AppHash, res.AppHash)
		}
	}
	if tip, _, _ := j.engine.Tip(); tip != 75 {
		t.Fatalf("joiner tip %d", tip)
	}
	sameTables(t, store, s.h.store)
}

// TestStateSyncByzantine: a chunk that does not match its hash is
// refetched and its sender rejected; a snapshot of another state whose
// metadata claims the verified app hash is rejected after its last chunk,
// with every peer that sent it; the honest snapshot then restores.
func TestStateSyncByzantine(t *testing.T) {
	s := newSyncSource(t, 40)
	height := s.h.height
	honest := s.snapshot(t, height)
	ctx := context.Background()
	store := memstore.New()
	j := s.joiner(t, store)

	// Another state: an older snapshot relabelled as the newest, its
	// metadata claiming the newest app hash (chunk hashes are its own, so
	// every chunk checks out).
	old := s.snapshot(t, height-3)
	var m snapshotMeta
	if err := json.Unmarshal(old.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	m.Height, m.AppHash = height, hexHash(s.appHash[height])
	forged := *old
	forged.Height = uint64(height)
	forged.Metadata, _ = json.Marshal(m)
	sum := sha256.Sum256(forged.Metadata)
	forged.Hash = sum[:]
	off, _ := j.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: &forged, AppHash: s.appHash[height]})
	if off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("forged offer: %v", off.Result)
	}
	var res *abci.ResponseApplySnapshotChunk
	for i := uint32(0); i < forged.Chunks; i++ {
		res, _ = j.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: s.chunk(t, old, i), Sender: "liar"})
		if res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			break
		}
	}
	if res.Result != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT || len(res.RejectSenders) != 1 || res.RejectSenders[0] != "liar" {
		t.Fatalf("forged snapshot: %v, rejected %v", res.Result, res.RejectSenders)
	}
	if info, _ := j.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 0 {
		t.Fatalf("a rejected restore serves height %d", info.LastBlockHeight)
	}

	// A metadata lying about the app hash is refused at the offer.
	off, _ = j.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: old, AppHash: s.appHash[height]})
	if off.Result != abci.ResponseOfferSnapshot_REJECT {
		t.Fatalf("offer with another app hash: %v", off.Result)
	}

	// The honest snapshot, with one corrupted chunk from a bad peer.
	off, _ = j.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: honest, AppHash: s.appHash[height]})
	if off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("honest offer: %v", off.Result)
	}
	for i := uint32(0); i < honest.Chunks; i++ {
		c := s.chunk(t, honest, i)
		if i == honest.Chunks/2 {
			bad := bytes.Clone(c)
			bad[len(bad)/2] ^= 1
			r, _ := j.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: bad, Sender: "corrupter"})
			if r.Result != abci.ResponseApplySnapshotChunk_RETRY || len(r.RefetchChunks) != 1 || r.RefetchChunks[0] != i ||
				len(r.RejectSenders) != 1 || r.RejectSenders[0] != "corrupter" {
				t.Fatalf("corrupted chunk: %+v", r)
			}
		}
		r, _ := j.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: c, Sender: "honest"})
		if r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
	if info, _ := j.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != height || !bytes.Equal(info.LastBlockAppHash, s.appHash[height]) {
		t.Fatalf("after the honest restore: %d %X", info.LastBlockHeight, info.LastBlockAppHash)
	}
	if st := j.RestoreStatus(); st.RejectedChunks != 1 || st.Attempts != 2 {
		t.Fatalf("status %+v", st)
	}
	sameTables(t, store, s.h.store)
}

// TestStateSyncInterrupted: a restore stopped part way (during the
// chunks, and again during the blocks) leaves a store no App serves; the
// same snapshot then resumes to the same state, and another snapshot
// wipes it and starts again.
func TestStateSyncInterrupted(t *testing.T) {
	s := newSyncSource(t, 40)
	height := s.h.height
	sn := s.snapshot(t, height)
	for _, stop := range []int{1, int(sn.Chunks) / 2, int(sn.Chunks) - 1} {
		store := memstore.New()
		j := s.joiner(t, store)
		if r := s.apply(t, j, sn, s.appHash[height], stop); r != -1 {
			t.Fatalf("stopped restore: %v", r)
		}
		j.Close()
		j = s.joiner(t, store)
		if info, _ := j.Info(context.Background(), &abci.RequestInfo{}); info.LastBlockHeight != 0 {
			t.Fatalf("an interrupted restore serves height %d", info.LastBlockHeight)
		}
		if _, err := j.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: s.h.state}); err == nil {
			t.Fatal("InitChain over an unfinished restore")
		}
		if r := s.apply(t, j, sn, s.appHash[height], -1); r != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("resumed restore: %v", r)
		}
		if st := j.RestoreStatus(); !st.Resumed {
			t.Fatalf("not resumed: %+v", st)
		}
		sameTables(t, store, s.h.store)
		j.Close()
	}
	// An older snapshot after an interrupted one: wiped, restored, and
	// the app hash is that height's.
	store := memstore.New()
	j := s.joiner(t, store)
	s.apply(t, j, sn, s.appHash[height], int(sn.Chunks)/2)
	old := s.snapshot(t, height-2)
	if r := s.apply(t, j, old, s.appHash[height-2], -1); r != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("restore of another snapshot: %v", r)
	}
	if info, _ := j.Info(context.Background(), &abci.RequestInfo{}); info.LastBlockHeight != height-2 {
		t.Fatalf("at %d", info.LastBlockHeight)
	}
}

// TestStateSyncOtherCoins: a snapshot whose consensus records and claimed
// commitments are the verified state's, but one of whose coins is worth
// more, is rejected once the set is built (its MuHash and UTXO root are
// not the claimed ones), and nothing of it is served.
func TestStateSyncOtherCoins(t *testing.T) {
	s := newSyncSource(t, 30)
	height := s.h.height
	honest := s.snapshot(t, height)
	var stream []byte
	for i := uint32(0); i < honest.Chunks; i++ {
		stream = append(stream, s.chunk(t, honest, i)...)
	}
	// Everything before the Core snapshot is kept; one coin is changed.
	br := bufio.NewReader(bytes.NewReader(stream))
	var m snapshotMeta
	if err := json.Unmarshal(honest.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(br, make([]byte, len(streamMagic))); err != nil {
		t.Fatal(err)
	}
	var prefix int
	{
		// Measure the consensus section, the times and the header by
		// reading them with a counting reader.
		cr := &countReader{r: bytes.NewReader(stream[len(streamMagic):])}
		b := bufio.NewReaderSize(cr, 16)
		for {
			kl, err := wire.ReadVarInt(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			if kl == 0 {
				break
			}
			io.ReadFull(b, make([]byte, kl))
			vl, _ := wire.ReadVarInt(b, 0)
			io.ReadFull(b, make([]byte, vl))
		}
		if _, err := readTimes(b, m.Base.Height); err != nil {
			t.Fatal(err)
		}
		io.ReadFull(b, make([]byte, 80))
		prefix = len(streamMagic) + cr.n - b.Buffered()
	}
	rd, err := coresnap.NewReader(bytes.NewReader(stream[prefix:]), coresnap.RegTest, m.Base.Height)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(stream[:prefix])
	w := coresnap.NewWriter(&out, rd.Meta())
	for i := 0; ; i++ {
		op, c, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			c.Value++
		}
		if err := w.Write(op, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	forged := out.Bytes()
	if bytes.Equal(forged, stream) {
		t.Fatal("the forged stream is the honest one")
	}
	m.ChunkHashes, m.Bytes = nil, int64(len(forged))
	var chunks [][]byte
	for off := 0; off < len(forged); off += m.ChunkBytes {
		c := forged[off:min(off+m.ChunkBytes, len(forged))]
		chunks = append(chunks, c)
		m.ChunkHashes = append(m.ChunkHashes, sha256.Sum256(c))
	}
	sn := *honest
	sn.Chunks = uint32(len(chunks))
	sn.Metadata, _ = json.Marshal(m)
	sum := sha256.Sum256(sn.Metadata)
	sn.Hash = sum[:]

	ctx := context.Background()
	j := s.joiner(t, memstore.New())
	off, _ := j.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: &sn, AppHash: s.appHash[height]})
	if off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", off.Result)
	}
	var res *abci.ResponseApplySnapshotChunk
	for i, c := range chunks {
		res, _ = j.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: c, Sender: "liar"})
		if res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			if i != len(chunks)-1 {
				t.Fatalf("refused at chunk %d of %d: the consensus part is the honest one", i, len(chunks))
			}
			break
		}
	}
	if res.Result != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT || len(res.RejectSenders) != 1 {
		t.Fatalf("a set with another coin: %v %v", res.Result, res.RejectSenders)
	}
	if info, _ := j.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 0 {
		t.Fatalf("serves height %d", info.LastBlockHeight)
	}
	// The honest snapshot still restores on the same store.
	if r := s.apply(t, j, honest, s.appHash[height], -1); r != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("honest restore after the forged one: %v", r)
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
