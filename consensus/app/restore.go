package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/snapshots"
)

// ErrBadSnapshot: a state-sync snapshot that is not the state the light
// client verified: its stream breaks the format, or the state it restores
// does not hash to the app hash. The snapshot is rejected, and the peers
// that sent its chunks with it.
var ErrBadSnapshot = errors.New("app: bad state-sync snapshot")

// keyRestore marks a store a restore is writing: the hash of the snapshot
// being restored. It is written before anything else of the restore and
// deleted in the batch that writes the genesis and meta records, so a
// store holding it was never a committed state: New treats it as empty,
// and OfferSnapshot resumes it (the same snapshot) or wipes it.
var keyRestore = []byte{'A', 1, 'r'}

// restore is a state-sync restore in progress.
type restore struct {
	meta    snapshotMeta
	hash    [32]byte
	appHash [32]byte
	genesis []byte    // the joiner's own genesis record
	res     *resolved // and what it resolves to (parameters, start, hash version)
	pw      *io.PipeWriter
	done    chan error
	next    uint32
	senders map[string]bool
	status  *restoreStatus
	// abandon is closed when the restore is given up: it ends a wait for
	// a body, which reads no stream.
	abandon chan struct{}
}

// OfferSnapshot accepts a snapshot whose metadata is well formed, names
// this chain and the app hash CometBFT's light client verified at its
// height (req.AppHash), and starts restoring it. A store left by an
// interrupted restore of the same snapshot is resumed; anything else in
// the store is wiped first.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	reply := func(r abci.ResponseOfferSnapshot_Result) (*abci.ResponseOfferSnapshot, error) {
		return &abci.ResponseOfferSnapshot{Result: r}, nil
	}
	a.abandonRestore()
	s := req.Snapshot
	if s == nil {
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	if s.Format != SnapshotFormat {
		a.log.Info("state sync: snapshot of another format refused", "height", s.Height, "format", s.Format)
		return reply(abci.ResponseOfferSnapshot_REJECT_FORMAT)
	}
	if a.cfg.Genesis.AppState == nil {
		a.log.Error("state sync needs the chain's genesis (Config.Genesis)")
		return reply(abci.ResponseOfferSnapshot_ABORT)
	}
	gr, res, err := a.localGenesis()
	if err != nil {
		a.log.Error("state sync: the genesis", "err", err)
		return reply(abci.ResponseOfferSnapshot_ABORT)
	}
	m, err := checkSnapshotMeta(s, req.AppHash, a.cfg.Genesis.ChainID, res.params)
	if err != nil {
		a.log.Warn("state sync: snapshot refused", "height", s.Height, "hash", fmt.Sprintf("%X", s.Hash), "err", err)
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	r := &restore{meta: *m, appHash: [32]byte(req.AppHash), genesis: gr, res: res, done: make(chan error, 1),
		senders: map[string]bool{}, status: a.restoreStatus, abandon: make(chan struct{})}
	copy(r.hash[:], s.Hash)
	if err := a.startRestore(r); err != nil {
		a.log.Error("state sync: cannot start the restore", "err", err)
		return reply(abci.ResponseOfferSnapshot_ABORT)
	}
	return reply(abci.ResponseOfferSnapshot_ACCEPT)
}

// checkSnapshotMeta decodes a snapshot's metadata and checks it against the
// snapshot, the light client's app hash, the chain and its parameters.
func checkSnapshotMeta(s *abci.Snapshot, appHash []byte, chainID string, p Params) (*snapshotMeta, error) {
	if len(s.Metadata) > maxSnapshotMetadata {
		return nil, fmt.Errorf("metadata of %d bytes", len(s.Metadata))
	}
	if sum := sha256.Sum256(s.Metadata); !bytes.Equal(sum[:], s.Hash) {
		return nil, fmt.Errorf("the snapshot's hash is not its metadata's")
	}
	var m snapshotMeta
	dec := json.NewDecoder(bytes.NewReader(s.Metadata))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	switch {
	case m.Format != s.Format:
		return nil, fmt.Errorf("metadata of format %d in a snapshot of format %d", m.Format, s.Format)
	case m.ChainID != chainID:
		return nil, fmt.Errorf("a snapshot of chain %q, this is %q", m.ChainID, chainID)
	case m.Height < 1 || uint64(m.Height) != s.Height:
		return nil, fmt.Errorf("metadata of height %d in a snapshot of height %d", m.Height, s.Height)
	case len(appHash) != 32 || !bytes.Equal(m.AppHash[:], appHash):
		return nil, fmt.Errorf("app hash %X, the light client verified %X", m.AppHash[:], appHash)
	case len(m.ChunkHashes) == 0 || uint64(len(m.ChunkHashes)) != uint64(s.Chunks):
		return nil, fmt.Errorf("%d chunk hashes for %d chunks", len(m.ChunkHashes), s.Chunks)
	case m.ChunkBytes < snapshots.MinChunkBytes || m.ChunkBytes > snapshots.MaxChunkBytes:
		return nil, fmt.Errorf("chunks of %d bytes", m.ChunkBytes)
	case m.Bytes <= int64(len(m.ChunkHashes)-1)*int64(m.ChunkBytes) || m.Bytes > int64(len(m.ChunkHashes))*int64(m.ChunkBytes):
		return nil, fmt.Errorf("%d bytes in %d chunks of %d", m.Bytes, len(m.ChunkHashes), m.ChunkBytes)
	case m.Base.Height < 0 || m.Base.Height > m.Tip.Height:
		return nil, fmt.Errorf("base %d above the tip %d", m.Base.Height, m.Tip.Height)
	case m.Tip.Height-m.Base.Height > p.FinalityDepth:
		// The joiner fetches and connects every block between the two:
		// a hostile snapshot must not make that the whole chain.
		return nil, fmt.Errorf("base %d is more than finality_depth %d below the tip %d", m.Base.Height, p.FinalityDepth, m.Tip.Height)
	}
	for _, b := range []metaBlock{m.Base, m.Tip} {
		if _, err := chainhash.NewHashFromStr(b.Hash); err != nil || len(b.Hash) != 64 {
			return nil, fmt.Errorf("block hash %q", b.Hash)
		}
	}
	return &m, nil
}

// localGenesis is the genesis record and parameters from the node's own
// genesis: a restored store's chain id and parameters never come from a
// peer.
func (a *App) localGenesis() ([]byte, *resolved, error) {
	g, err := ParseGenesis(a.cfg.Genesis.AppState)
	if err != nil {
		return nil, nil, err
	}
	r, err := g.resolve()
	if err != nil {
		return nil, nil, err
	}
	gr, err := json.Marshal(genesisRecord{ChainID: a.cfg.Genesis.ChainID, Network: g.Network, Params: r.params,
		AppHashVersion: int(r.hash)})
	return gr, r, err
}

// abandonRestore stops a restore in progress (CometBFT offers another
// snapshot after an abort or a rejection) and closes what it opened. Its
// store stays as it is: the next restore resumes or wipes it.
func (a *App) abandonRestore() {
	r := a.restoring
	if r == nil {
		return
	}
	close(r.abandon)
	r.pw.CloseWithError(errAbandoned)
	<-r.done
	a.restoring = nil
	a.dropState()
}

var errAbandoned = errors.New("app: restore abandoned")

// dropState closes the engine and forgets the state a restore opened.
func (a *App) dropState() {
	if a.engine != nil {
		if err := a.engine.Close(); err != nil {
			a.log.Warn("state sync: closing the engine", "err", err)
		}
	}
	a.engine, a.tree, a.stake, a.recs = nil, nil, nil, nil
	a.engineRef.Store(nil)
}

// ApplySnapshotChunk checks a chunk against its hash in the metadata and
// feeds it to the restore. A chunk that does not match is refetched and its
// sender rejected; a stream or state the restore finds bad rejects the
// snapshot and every peer that sent chunks of it. The last chunk returns
// once the state is restored, checked and committed.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	r := a.restoring
	if r == nil {
		a.log.Error("state sync: a chunk with no restore in progress")
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
	}
	switch {
	case req.Index < r.next:
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	case req.Index > r.next || int(req.Index) >= len(r.meta.ChunkHashes):
		a.log.Error("state sync: chunks out of order", "index", req.Index, "want", r.next)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
	}
	if sha256.Sum256(req.Chunk) != [32]byte(r.meta.ChunkHashes[req.Index]) {
		a.log.Warn("state sync: a chunk does not match the snapshot's hash; rejecting its sender",
			"index", req.Index, "sender", req.Sender, "bytes", len(req.Chunk))
		r.status.rejectedChunk()
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index}, RejectSenders: []string{req.Sender}}, nil
	}
	if req.Sender != "" {
		r.senders[req.Sender] = true
	}
	_, err := r.pw.Write(req.Chunk)
	r.next++
	r.status.chunk(len(req.Chunk))
	if err == nil && int(r.next) < len(r.meta.ChunkHashes) {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	}
	if err == nil {
		r.pw.Close()
	}
	err = <-r.done
	a.restoring = nil
	if err == nil {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	}
	a.dropState()
	a.restoreStatus.failed()
	if errors.Is(err, ErrBadSnapshot) {
		var senders []string
		for s := range r.senders {
			senders = append(senders, s)
		}
		a.log.Warn("state sync: snapshot rejected", "height", r.meta.Height, "hash", fmt.Sprintf("%X", r.hash),
			"err", err, "rejected_peers", senders)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT,
			RejectSenders: senders}, nil
	}
	a.log.Error("state sync: restore failed", "height", r.meta.Height, "err", err)
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
}

// startRestore prepares the store (resume or wipe) and starts the
// goroutine that reads the stream.
func (a *App) startRestore(r *restore) error {
	if a.engine != nil {
		// A committed state, or what a rejected restore left open.
		a.dropState()
		a.views.clear()
	}
	cur, err := a.cfg.Store.Get(keyRestore)
	resume := err == nil && bytes.Equal(cur, r.hash[:])
	if _, gerr := a.cfg.Store.Get(keyGenesis); gerr == nil {
		resume = false // a committed state: CometBFT has none, so it goes
	}
	if !resume {
		t0 := time.Now()
		n, err := wipeStore(a.cfg.Store)
		if err != nil {
			return err
		}
		if n > 0 {
			a.log.Info("state sync: the store was wiped for a fresh restore", "keys", n, "took", time.Since(t0).Round(time.Millisecond))
		}
		if err := a.cfg.Store.Update(64, true, func(b batch) error { b.Put(keyRestore, r.hash[:]); return nil }); err != nil {
			return err
		}
	}
	pr, pw := io.Pipe()
	r.pw = pw
	a.restoring = r
	a.restoreStatus.start(&r.meta, resume)
	a.log.Info("state sync: restoring", "height", r.meta.Height, "btc_base", r.meta.Base.Height, "btc_tip", r.meta.Tip.Height,
		"coins", r.meta.Coins, "chunks", len(r.meta.ChunkHashes), "mb", r.meta.Bytes>>20, "resume", resume)
	go func() {
		err := a.restoreFrom(r, bufio.NewReaderSize(pr, 1<<20))
		pr.CloseWithError(errAbandoned) // unblocks a writer if the restore stopped early
		r.done <- err
	}()
	return nil
}
