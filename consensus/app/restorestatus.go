package app

import (
	"sync"
	"time"

	"github.com/satnode/satnode/utxo"
)

// RestorePhase is where a state-sync restore is.
type RestorePhase string

// The phases of a restore, in order.
const (
	PhaseNone      RestorePhase = ""
	PhaseConsensus RestorePhase = "consensus" // the consensus records
	PhaseCoins     RestorePhase = "coins"     // the UTXO set at the base, as chunks come
	PhaseIndex     RestorePhase = "index"     // the script-hash index, from sorted runs
	PhaseTree      RestorePhase = "tree"      // the UTXO tree
	PhaseBlocks    RestorePhase = "blocks"    // the blocks from the base to the tip
	PhaseVerify    RestorePhase = "verify"    // the app hash
	PhaseDone      RestorePhase = "done"
	PhaseFailed    RestorePhase = "failed" // the last attempt failed; CometBFT tries another snapshot
)

// RestoreStatus is the progress of the node's state-sync restore, for
// the operator (/v1/status, the log).
type RestoreStatus struct {
	Phase RestorePhase
	// Height is the CometBFT height of the snapshot; BaseHeight and
	// TipHeight its Bitcoin blocks.
	Height                int64
	BaseHeight, TipHeight int32
	Resumed               bool
	Started               time.Time
	// Chunks received and checked of ChunksTotal; Bytes of BytesTotal.
	Chunks, ChunksTotal int
	Bytes, BytesTotal   int64
	// RejectedChunks counts chunks that did not match their hash.
	RejectedChunks int
	// Coins loaded of CoinsTotal; in the index phase, Indexed entries.
	Coins, CoinsTotal, Indexed uint64
	// Blocks connected of BlocksTotal (the base to the tip).
	Blocks, BlocksTotal int
	// Attempts counts the snapshots tried since the node started.
	Attempts int
}

// Active reports whether a restore is under way.
func (s RestoreStatus) Active() bool {
	return s.Phase != PhaseNone && s.Phase != PhaseDone && s.Phase != PhaseFailed
}

// Fraction is how far the restore is, 0 to 1: the stream's bytes count
// for most of it, the index and tree phases after it and the blocks for
// the rest. It is a guide for an ETA, not a measure.
func (s RestoreStatus) Fraction() float64 {
	switch s.Phase {
	case PhaseDone:
		return 1
	case PhaseNone, PhaseFailed:
		return 0
	case PhaseIndex:
		f := 0.7
		if s.CoinsTotal > 0 {
			f += 0.1 * min(1, float64(s.Indexed)/float64(s.CoinsTotal))
		}
		return f
	case PhaseTree:
		return 0.8
	case PhaseBlocks:
		f := 0.9
		if s.BlocksTotal > 0 {
			f += 0.09 * float64(s.Blocks) / float64(s.BlocksTotal)
		}
		return f
	case PhaseVerify:
		return 0.99
	}
	if s.BytesTotal == 0 {
		return 0
	}
	return 0.7 * float64(s.Bytes) / float64(s.BytesTotal)
}

// RestoreStatus reports the node's state-sync restore. It is safe for
// concurrent use.
func (a *App) RestoreStatus() RestoreStatus {
	a.restoreStatus.mu.Lock()
	defer a.restoreStatus.mu.Unlock()
	return a.restoreStatus.s
}

// restoreStatus is what RestoreStatus reports, updated as a restore goes.
type restoreStatus struct {
	mu sync.Mutex
	s  RestoreStatus
}

func (st *restoreStatus) update(f func(s *RestoreStatus)) {
	st.mu.Lock()
	f(&st.s)
	st.mu.Unlock()
}

func (st *restoreStatus) start(m *snapshotMeta, resumed bool) {
	st.update(func(s *RestoreStatus) {
		*s = RestoreStatus{Phase: PhaseConsensus, Height: m.Height, BaseHeight: m.Base.Height, TipHeight: m.Tip.Height,
			Resumed: resumed, Started: time.Now(), ChunksTotal: len(m.ChunkHashes), BytesTotal: m.Bytes,
			CoinsTotal: m.Coins, Attempts: s.Attempts + 1}
	})
}

func (st *restoreStatus) phase(p RestorePhase) { st.update(func(s *RestoreStatus) { s.Phase = p }) }
func (st *restoreStatus) failed()              { st.phase(PhaseFailed) }
func (st *restoreStatus) rejectedChunk()       { st.update(func(s *RestoreStatus) { s.RejectedChunks++ }) }
func (st *restoreStatus) blocks(n int)         { st.update(func(s *RestoreStatus) { s.BlocksTotal = n }) }
func (st *restoreStatus) block()               { st.update(func(s *RestoreStatus) { s.Blocks++ }) }

func (st *restoreStatus) chunk(n int) {
	st.update(func(s *RestoreStatus) { s.Chunks++; s.Bytes += int64(n) })
}

func (st *restoreStatus) seed(p utxo.SeedProgress) {
	st.update(func(s *RestoreStatus) {
		s.Coins = p.Coins
		switch {
		case p.Phase == utxo.LoadIndex:
			s.Phase, s.Indexed = PhaseIndex, p.Indexed
		case p.Phase == utxo.LoadTree:
			s.Phase = PhaseTree
		}
	})
}

func (st *restoreStatus) elapsed() time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return time.Since(st.s.Started)
}
