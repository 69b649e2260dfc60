package node

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	cs "github.com/cometbft/cometbft/consensus"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/native"
)

// syncLogEvery is how often the node logs its progress while it is not
// live: often enough to see it move, rarely enough not to drown
// CometBFT's own lines.
const syncLogEvery = 10 * time.Second

// syncInputs is one reading of what the node's state is computed from.
// Reading it (Node.syncInputs) touches the application and CometBFT;
// everything after it is pure, so that tests drive it with made-up
// readings and a fake clock.
type syncInputs struct {
	// Restore is the application's state-sync restore.
	Restore app.RestoreStatus
	// StateSync: config.toml's [statesync] enable. CometBFT state syncs
	// only a node with no state of its own, and there is no restore to
	// report until a snapshot is accepted: with state sync on and no
	// committed view the node is still looking for one.
	StateSync bool
	// NoView: the application has no committed view (app.ErrNoView).
	NoView bool
	// WaitSync: CometBFT's consensus reactor still waits for state sync
	// or blocksync to hand over.
	WaitSync bool
	// Height is CometBFT's block store height. It stays 0 after a state
	// sync until the first block past the snapshot is stored.
	Height int64
	// PeerHeight is the highest height a peer reports having committed,
	// 0 while none has.
	PeerHeight int64
}

// classify names the node's state. The order matters: a restore under
// way, or state sync on with nothing committed yet, is state syncing
// even though CometBFT's reactor also waits then.
func classify(in syncInputs) string {
	switch {
	case in.Restore.Active(), in.StateSync && in.NoView:
		return native.StateSyncing
	case in.WaitSync:
		return native.StateCatchingUp
	default:
		return native.StateLive
	}
}

// height is CometBFT's height as an operator means it: after a restore
// and before the first block past the snapshot, the snapshot's height
// (the block store says 0 then).
func (in syncInputs) height() int64 {
	if in.Restore.Phase == app.PhaseDone {
		return max(in.Height, in.Restore.Height)
	}
	return in.Height
}

// heightSample is a height and when it was seen.
type heightSample struct {
	at     time.Time
	height int64
}

// restoreETA estimates the time a restore has left from the time it has
// taken so far: elapsed/f*(1-f) for f = RestoreStatus.Fraction. Below 1%
// the estimate is noise (the first chunks include connection set-up), so
// there is none; nor for a restore not under way.
func restoreETA(rs app.RestoreStatus, now time.Time) (time.Duration, bool) {
	f := rs.Fraction()
	if !rs.Active() || rs.Started.IsZero() || f <= 0.01 || f >= 1 {
		return 0, false
	}
	elapsed := now.Sub(rs.Started)
	if elapsed <= 0 {
		return 0, false
	}
	return time.Duration(float64(elapsed) / f * (1 - f)), true
}

// catchUpRate is the blocks per second from one sample to another, if
// there was progress and at least a second between them.
func catchUpRate(from, to heightSample) (float64, bool) {
	secs := to.at.Sub(from.at).Seconds()
	if secs < 1 || to.height <= from.height {
		return 0, false
	}
	return float64(to.height-from.height) / secs, true
}

// catchUpETA is the time left to reach target at rate blocks per second:
// 0 once there, none while the target or the rate is unknown.
func catchUpETA(height, target int64, rate float64) (time.Duration, bool) {
	switch {
	case target <= 0:
		return 0, false
	case height >= target:
		return 0, true
	case rate <= 0:
		return 0, false
	}
	return time.Duration(float64(target-height) / rate * float64(time.Second)), true
}

// etaSeconds is d in whole seconds, for JSON.
func etaSeconds(d time.Duration) *int64 {
	s := int64(d.Round(time.Second) / time.Second)
	return &s
}

// restoreProgress is rs as /v1/status shows it.
func restoreProgress(rs app.RestoreStatus, now time.Time) *native.RestoreProgress {
	p := &native.RestoreProgress{Phase: string(rs.Phase), Height: rs.Height, BaseHeight: rs.BaseHeight,
		TipHeight: rs.TipHeight, Chunks: rs.Chunks, ChunksTotal: rs.ChunksTotal, Bytes: rs.Bytes,
		BytesTotal: rs.BytesTotal, Coins: rs.Coins, CoinsTotal: rs.CoinsTotal, Indexed: rs.Indexed,
		Blocks: rs.Blocks, BlocksTotal: rs.BlocksTotal, Percent: math.Round(rs.Fraction()*1000) / 10,
		Attempts: rs.Attempts, RejectedChunks: rs.RejectedChunks}
	if !rs.Started.IsZero() {
		started := rs.Started
		p.Started = &started
	}
	if eta, ok := restoreETA(rs, now); ok {
		p.ETASeconds = etaSeconds(eta)
	}
	return p
}

// syncWatch turns readings into the node's state. It remembers where
// catching up was first seen, so that the rate (and the ETA) is the
// average over the whole catch-up: blocksync's pace varies with block
// sizes, and a short window would make the ETA jump. The zero value is
// ready; it is safe for concurrent use (the API and the log read it).
type syncWatch struct {
	mu sync.Mutex
	// from is the first sample of the current catch-up with a height
	// (from.at is zero when there is none).
	from heightSample
}

// state is the node's state for the reading in at now.
func (w *syncWatch) state(in syncInputs, now time.Time) native.NodeState {
	ns := native.NodeState{State: classify(in), Height: in.height()}
	switch ns.State {
	case native.StateSyncing:
		ns.Restore = restoreProgress(in.Restore, now)
		ns.ETASeconds = ns.Restore.ETASeconds
	case native.StateCatchingUp:
		ns.Target = in.PeerHeight
		rate, ok := w.catchUp(heightSample{at: now, height: ns.Height})
		if ok {
			ns.BlocksPerSecond = math.Round(rate*100) / 100
		}
		if eta, ok := catchUpETA(ns.Height, ns.Target, rate); ok {
			ns.ETASeconds = etaSeconds(eta)
		}
	}
	if ns.State != native.StateCatchingUp {
		w.mu.Lock()
		w.from = heightSample{}
		w.mu.Unlock()
	}
	return ns
}

// catchUp records s and returns the rate since the catch-up's first
// sample. A sample at height 0 (no block yet) starts nothing: the rate
// from 0 would be absurd.
func (w *syncWatch) catchUp(s heightSample) (float64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.height <= 0 {
		return 0, false
	}
	if w.from.at.IsZero() || s.height < w.from.height || s.at.Before(w.from.at) {
		w.from = s
		return 0, false
	}
	return catchUpRate(w.from, s)
}

// fmtETA is an ETA for the log: "1m20s", or "unknown".
func fmtETA(secs *int64) string {
	if secs == nil {
		return "unknown"
	}
	return (time.Duration(*secs) * time.Second).String()
}

// logState writes one line for ns.
func logState(log *slog.Logger, ns native.NodeState) {
	switch ns.State {
	case native.StateSyncing:
		r := ns.Restore
		if r == nil {
			r = &native.RestoreProgress{}
		}
		switch app.RestorePhase(r.Phase) {
		case app.PhaseNone:
			log.Info("state sync: waiting for a snapshot", "attempts", r.Attempts)
			return
		case app.PhaseFailed:
			log.Info("state sync: restore failed, waiting for another snapshot", "attempts", r.Attempts)
			return
		}
		args := []any{"phase", r.Phase, "progress", fmt.Sprintf("%.1f%%", r.Percent), "snapshot", r.Height,
			"chunks", fmt.Sprintf("%d/%d", r.Chunks, r.ChunksTotal),
			"mb", fmt.Sprintf("%d/%d", r.Bytes>>20, r.BytesTotal>>20), "coins", r.Coins}
		if r.Phase == string(app.PhaseIndex) {
			args = append(args, "indexed", r.Indexed)
		}
		if r.BlocksTotal > 0 {
			args = append(args, "blocks", fmt.Sprintf("%d/%d", r.Blocks, r.BlocksTotal))
		}
		if r.RejectedChunks > 0 {
			args = append(args, "rejected_chunks", r.RejectedChunks)
		}
		log.Info("state sync: restoring", append(args, "eta", fmtETA(r.ETASeconds))...)
	case native.StateCatchingUp:
		var target any = "unknown"
		if ns.Target > 0 {
			target = ns.Target
		}
		log.Info("catching up", "height", ns.Height, "target", target, "blocks_per_s", ns.BlocksPerSecond,
			"eta", fmtETA(ns.ETASeconds))
	default:
		log.Info("live", "height", ns.Height)
	}
}

// runSyncLog logs the node's state now and at every tick until it is
// live (one last line) or quit is closed.
func runSyncLog(log *slog.Logger, w *syncWatch, read func() syncInputs, now func() time.Time,
	tick <-chan time.Time, quit <-chan struct{}) {
	for {
		ns := w.state(read(), now())
		logState(log, ns)
		if ns.State == native.StateLive {
			return
		}
		select {
		case <-tick:
		case <-quit:
			return
		}
	}
}

// startSyncLog starts the goroutine that logs the way to live. It ends
// when the node is live or CometBFT stops. Stop does not wait for it: a
// reading touches only in-memory state (the restore status, the views,
// the block store's height, the peers), so one racing Stop does no harm.
func (n *Node) startSyncLog() {
	t := time.NewTicker(syncLogEvery)
	quit := n.cmt.Quit()
	go func() {
		defer t.Stop()
		runSyncLog(n.log.With("module", "sync"), &n.watch, n.syncInputs, time.Now, t.C, quit)
	}()
}

// nodeState is /v1/status's "node" object.
func (n *Node) nodeState() native.NodeState { return n.watch.state(n.syncInputs(), time.Now()) }

// syncInputs reads the application and CometBFT.
func (n *Node) syncInputs() syncInputs {
	in := syncInputs{Restore: n.app.RestoreStatus(), StateSync: n.cfg.StateSync.Enable}
	v, err := n.app.Views().Acquire()
	if err == nil {
		v.Release()
	}
	in.NoView = errors.Is(err, app.ErrNoView)
	if n.cmt != nil {
		in.Height = n.cmt.BlockStore().Height()
		in.WaitSync = n.cmt.ConsensusReactor().WaitSync()
		in.PeerHeight = peerHeight(n.cmt.Switch())
	}
	return in
}

// peerHeight is the highest height a peer reports having committed.
// CometBFT v0.38's blocksync pool knows the peers' heights but keeps
// them unexported; the consensus reactor's per-peer state is exported
// and kept up to date during blocksync too (its Receive handles
// NewRoundStep whatever the sync), and a peer in consensus at height H
// has committed H-1. Peers that are syncing themselves report nothing.
func peerHeight(sw *p2p.Switch) int64 {
	if sw == nil {
		return 0
	}
	var h int64
	for _, p := range sw.Peers().List() {
		if ps, ok := p.Get(types.PeerStateKey).(*cs.PeerState); ok {
			h = max(h, ps.GetHeight()-1)
		}
	}
	return h
}
