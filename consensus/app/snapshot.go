package app

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/snapshots"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
)

// SnapshotFormat is the format of satnode's state-sync snapshots
// (CometBFT's Snapshot.Format). A snapshot is one byte stream cut into
// chunks of chunk_bytes:
//
//	magic          "SNSS" 01
//	consensus      records, each CompactSize(len key) ‖ key ‖ CompactSize(len value) ‖ value,
//	               in strictly increasing key order, then CompactSize(0): every record of the
//	               header tree ('H'), staking ('S') and the endorsement records ('E')
//	times          CompactSize(n), then n × (u32le height ‖ u32le block time), heights
//	               increasing, all ≤ the base: the times of the blocks the set's coins were
//	               created in, for coin ages (SeedBase.Times); not part of the app hash
//	base header    the 80-byte header of the base block
//	utxo           the UTXO set at the base block, exactly as Bitcoin Core's dumptxoutset
//	               writes it (utxo/coresnap): header (network, base hash, coin count), then
//	               the coins by txid and vout
//
// The metadata also carries the set's MuHash and UTXO-tree root at the
// tip: with the consensus records they hash to the app hash, so a joiner
// refuses a snapshot of another consensus state as soon as it has read
// its records, before the coins; the two values are checked again against
// the set the joiner built, at the end.
//
// The base is the finalized base of the header tree (no reorg reaches
// it), not the UTXO tip: the joiner loads the set at the base and connects
// the blocks from there to the tip itself, with bodies checked against
// their headers, so its undo records are its own and every byte it keeps
// is checked against the app hash in the end (MuHash, the UTXO tree, the
// tip and the consensus root). The metadata (snapshotMeta, JSON) names
// both blocks and carries the chunks' SHA-256 hashes; Snapshot.Hash is the
// metadata's SHA-256.
const SnapshotFormat = 1

var streamMagic = []byte{'S', 'N', 'S', 'S', 1}

// consensusPrefixes are the first bytes of the consensus records a
// snapshot carries, in byte order. The meta, genesis and restore records
// ('A') are the joiner's own.
var consensusPrefixes = [][]byte{{'E'}, {'H'}, {'S'}}

// Limits of a record in a snapshot's consensus section: the stores' keys
// are short and their values small (a staking record, a header-tree page).
const (
	maxSnapshotKey   = 1 << 10
	maxSnapshotValue = 16 << 20
	// maxConsensusBytes bounds the whole section: far above any real
	// consensus state (the header tree keeps ~2,200 headers), it only
	// stops a hostile snapshot from filling the joiner's disk with records
	// before they are checked.
	maxConsensusBytes = 4 << 30
	// maxSnapshotMetadata keeps the metadata within CometBFT's snapshot
	// message (statesync's snapshotMsgSize, 4 MB) with room to spare:
	// about 45,000 chunk hashes.
	maxSnapshotMetadata = 3 << 20
)

// SnapshotConfig configures the snapshots a node makes and serves.
type SnapshotConfig struct {
	// Store keeps them; nil: none are made or served.
	Store *snapshots.Store
	// Interval: a snapshot of the state committed at every height that is
	// a multiple of it (0: none made; those in Store are still served).
	Interval int64
	// KeepRecent is how many are kept (default 2).
	KeepRecent int
	// ChunkBytes is the chunk size (default 4 MiB).
	ChunkBytes int
}

// DefaultSnapshotChunkBytes is the chunk size unless configured: 1,600
// chunks for mainnet's set, and a chunk a peer sends in a second or two.
const DefaultSnapshotChunkBytes = 4 << 20

// snapshotMeta is a snapshot's metadata.
type snapshotMeta struct {
	Format  uint32    `json:"format"`
	ChainID string    `json:"chain_id"`
	Height  int64     `json:"height"`
	AppHash hexHash   `json:"app_hash"`
	Time    time.Time `json:"time"`
	// Base is the block the stream's set is at, Tip the UTXO tip of
	// Height's state.
	Base metaBlock `json:"btc_base"`
	Tip  metaBlock `json:"btc_tip"`
	// MuHash and UTXORoot are the set's commitments at Tip: with the
	// consensus records they give the app hash, so a joiner checks the
	// consensus records as soon as it has them, before the set; it checks
	// both values against the set it builds at the end.
	MuHash   hexHash `json:"muhash"`
	UTXORoot hexHash `json:"utxo_root"`
	// Coins in the set at Base; Bytes of the stream.
	Coins       uint64    `json:"coins"`
	Bytes       int64     `json:"bytes"`
	ChunkBytes  int       `json:"chunk_bytes"`
	ChunkHashes []hexHash `json:"chunk_hashes"`
}

type metaBlock struct {
	Height int32  `json:"height"`
	Hash   string `json:"hash"`
}

// hexHash is a 32-byte hash in hex.
type hexHash [32]byte

func (h hexHash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

func (h *hexHash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("a hash is 64 hex digits, not %d", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// maybeSnapshot starts a snapshot of the state just committed, if one is
// due and none is being written. It runs at the end of Commit, on the
// consensus connection: the snapshot is written from a View, on its own
// goroutine, while blocks go on.
func (a *App) maybeSnapshot() {
	sc := &a.cfg.Snapshots
	if sc.Store == nil || sc.Interval <= 0 || a.height%sc.Interval != 0 {
		return
	}
	if !a.snapBusy.CompareAndSwap(false, true) {
		a.log.Warn("state-sync snapshot skipped: the previous one is still being written", "height", a.height)
		return
	}
	v, err := a.views.Acquire()
	if err != nil {
		a.snapBusy.Store(false)
		return
	}
	a.snapWG.Add(1)
	go func() {
		defer a.snapWG.Done()
		defer a.snapBusy.Store(false)
		defer v.Release()
		if err := a.makeSnapshot(v); err != nil {
			a.log.Error("state-sync snapshot failed", "height", v.Height, "err", err)
		}
	}()
}

// makeSnapshot writes the snapshot of v and prunes old ones.
func (a *App) makeSnapshot(v *View) error {
	sc := &a.cfg.Snapshots
	t0 := time.Now()
	if v.Final.Height > v.Tip.Height {
		return fmt.Errorf("the finalized base %d is above the UTXO tip %d", v.Final.Height, v.Tip.Height)
	}
	cb := sc.ChunkBytes
	if cb == 0 {
		cb = DefaultSnapshotChunkBytes
	}
	w, err := sc.Store.Create(uint64(v.Height), SnapshotFormat, cb)
	if err != nil {
		return err
	}
	coins, err := writeSnapshotStream(a.closing, v, w)
	if err != nil {
		w.Abort()
		return err
	}
	info, err := w.Commit(func(hashes [][32]byte, total int64) ([]byte, error) {
		m := snapshotMeta{Format: SnapshotFormat, ChainID: v.ChainID, Height: v.Height, AppHash: v.AppHash, Time: v.Time,
			Base: metaBlock{v.Final.Height, v.Final.Hash.String()}, Tip: metaBlock{v.Tip.Height, v.Tip.Hash.String()},
			MuHash: v.Commitments.MuHash, UTXORoot: v.Commitments.UTXORoot,
			Coins: coins, Bytes: total, ChunkBytes: cb, ChunkHashes: make([]hexHash, len(hashes))}
		for i, h := range hashes {
			m.ChunkHashes[i] = h
		}
		b, err := json.Marshal(m)
		if err == nil && len(b) > maxSnapshotMetadata {
			err = fmt.Errorf("%d chunks make a metadata of %d bytes, more than peers accept: raise snapshot_chunk_kb",
				len(hashes), len(b))
		}
		return b, err
	})
	if err != nil {
		return err
	}
	keep := sc.KeepRecent
	if keep <= 0 {
		keep = 2
	}
	if err := sc.Store.Prune(keep); err != nil {
		return err
	}
	a.log.Info("state-sync snapshot made", "height", v.Height, "btc_base", v.Final.Height, "btc_tip", v.Tip.Height,
		"coins", coins, "chunks", info.Chunks, "mb", fmt.Sprintf("%.1f", float64(w.Bytes())/(1<<20)),
		"took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// errStopped: the node is shutting down.
var errStopped = errors.New("app: stopping")

// writeSnapshotStream writes v's snapshot stream (SnapshotFormat) to w and
// returns the coin count of its set. It stops early when stop is closed.
func writeSnapshotStream(stop <-chan struct{}, v *View, w io.Writer) (uint64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(streamMagic)
	var n [binary.MaxVarintLen64]byte
	for _, p := range consensusPrefixes {
		it := v.snap.Iterate(p, nil)
		for it.Next() {
			k, val := it.Key(), it.Value()
			bw.Write(utxo.AppendCompactSize(n[:0], uint64(len(k))))
			bw.Write(k)
			bw.Write(utxo.AppendCompactSize(n[:0], uint64(len(val))))
			bw.Write(val)
		}
		err := it.Err()
		it.Release()
		if err != nil {
			return 0, err
		}
	}
	bw.Write(utxo.AppendCompactSize(n[:0], 0))

	var times []byte
	count := 0
	err := v.Reader.BlockTimes(v.Final.Height, func(h int32, t uint32) error {
		times = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(times, uint32(h)), t)
		count++
		return nil
	})
	if err != nil {
		return 0, err
	}
	bw.Write(utxo.AppendCompactSize(n[:0], uint64(count)))
	bw.Write(times)

	hdr, err := v.Reader.Header(v.Final.Height)
	if err != nil {
		return 0, fmt.Errorf("the header of the base %d: %w", v.Final.Height, err)
	}
	if hdr.BlockHash() != v.Final.Hash {
		return 0, fmt.Errorf("the store's header at %d is not the finalized base %s", v.Final.Height, v.Final.Hash)
	}
	if err := hdr.Serialize(bw); err != nil {
		return 0, err
	}

	net, err := coresnap.NetworkByName(v.Params.Name)
	if err != nil {
		return 0, err
	}
	var cw *coresnap.Writer
	var coins, i uint64
	err = v.Reader.SetAt(v.Final.Height, func(c uint64) error {
		coins = c
		cw = coresnap.NewWriter(bw, coresnap.Meta{Network: net, BaseHash: v.Final.Hash, Count: c})
		return nil
	}, func(op utxo.Outpoint, c utxo.Coin) error {
		if i++; i&0xffff == 0 {
			select {
			case <-stop:
				return errStopped
			default:
			}
		}
		return cw.Write(op, c)
	})
	if err == nil {
		err = cw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	return coins, err
}

// ListSnapshots lists the snapshots this node serves, newest first.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	res := &abci.ResponseListSnapshots{}
	if a.cfg.Snapshots.Store == nil {
		return res, nil
	}
	list, err := a.cfg.Snapshots.Store.List()
	if err != nil {
		a.log.Error("listing state-sync snapshots", "err", err)
		return res, nil
	}
	for _, s := range list {
		res.Snapshots = append(res.Snapshots, &abci.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks,
			Hash: s.Hash[:], Metadata: s.Metadata})
	}
	return res, nil
}

// LoadSnapshotChunk reads a chunk of a served snapshot; a missing one is
// an empty answer, which CometBFT reports to the peer as missing.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	if a.cfg.Snapshots.Store == nil {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	b, err := a.cfg.Snapshots.Store.Chunk(req.Height, req.Format, req.Chunk)
	if err != nil {
		if !errors.Is(err, snapshots.ErrNotFound) {
			a.log.Error("reading a state-sync chunk", "height", req.Height, "chunk", req.Chunk, "err", err)
		}
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: b}, nil
}
