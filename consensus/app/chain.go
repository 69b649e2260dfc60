package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

func parseHeader(raw []byte) (*wire.BlockHeader, error) {
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("header: %v", err)}
	}
	return &h, nil
}

// countEndorsements marks endorsed the headers whose endorsers now hold
// ≥ 2/3 of the voting power. Every partly endorsed record is recounted each
// block, not only those that got endorsements: a delegation or a slash
// moves the power behind the same endorsements. Records nobody endorsed
// cannot qualify and are not visited, so a flood of junk headers costs
// nothing here. Only bonded, active, unjailed validators have power.
func (a *App) countEndorsements() {
	total := a.stake.TotalPower()
	for _, r := range a.recs.partials() {
		var power int64
		for _, op := range r.endorsers {
			power += a.stake.Power(op)
		}
		if staking.Endorsed(power, total) {
			r.endorsed = true
			a.recs.touch(r)
		}
	}
}

// isEndorsed is the fork-choice filter: a block counts once endorsed.
func (a *App) isEndorsed(n *btcheaders.Node) bool {
	r := a.recs.m[n.Hash()]
	return r != nil && r.endorsed
}

// advance moves the UTXO set towards the canonical chain, the most-work
// chain of endorsed blocks above the finalized base: it disconnects back to
// the fork point if the canonical chain left the current tip, then
// connects canonical blocks up to the byte budget (always at least one);
// the rest waits for the next blocks. Each block connected for the first
// time opens its attendance window (canonical); settle pays it and takes
// attendance when the window closes.
func (a *App) advance(ctx context.Context, now time.Time) error {
	a.blockLog.tick(a.log)
	cur, err := a.btcTip()
	if err != nil {
		return err
	}
	target := a.tree.BestChain(a.isEndorsed)
	a.endorsedTip = target
	if target == cur {
		return nil
	}
	fork := a.tree.ForkPoint(cur, target)
	if fork == nil {
		return fmt.Errorf("%w: the canonical chain %s does not share the UTXO tip's history", ErrHalt, target.Hash())
	}
	if fork.Height() < a.tree.Base().Height() {
		return fmt.Errorf("%w: a reorg to %s would go below the finalized base %d", ErrHalt, target.Hash(), a.tree.Base().Height())
	}
	for cur != fork {
		t0 := time.Now()
		if _, err := a.engine.Disconnect(); err != nil {
			return fmt.Errorf("%w: disconnect %s at %d: %v", ErrHalt, cur.Hash(), cur.Height(), err)
		}
		a.elapsed = append(a.elapsed, time.Since(t0))
		a.log.Info("reorg: disconnected", "height", cur.Height(), "hash", cur.Hash())
		cur = cur.Parent()
	}
	var path []*btcheaders.Node
	for n := target; n != fork; n = n.Parent() {
		path = append(path, n)
	}
	slices.Reverse(path)
	var spent int64
	for i, n := range path {
		if i > 0 && spent >= a.params.MaxBTCBytesPerBlock {
			break
		}
		blk, size, err := a.body(ctx, n)
		if err != nil {
			return err
		}
		t0 := time.Now()
		st, err := a.engine.Connect(blk)
		if err != nil {
			return fmt.Errorf("%w: endorsed block %s at %d breaks Bitcoin's rules: %v", ErrHalt, n.Hash(), n.Height(), err)
		}
		a.elapsed = append(a.elapsed, time.Since(t0))
		a.blockLog.applied(a.log, st)
		spent += int64(size)
		if err := a.canonical(n, now); err != nil {
			return err
		}
	}
	return nil
}

// body fetches the body of n and makes sure it is the block n's header
// commits to: the same header, and transactions that match its merkle
// root (without the CVE-2012-2459 duplicated tail) and witness
// commitment. A body that fails these says nothing about the block — a
// provider served a wrong or mutated copy, which anyone can make — so it
// is treated like a missing one: waited for, logged every retry. The
// application never guesses, and every node applies the same blocks, so
// waiting is the only deterministic choice. Only a body that matches its
// header and still breaks a rule (Connect) proves the block invalid. The
// context ends the wait (node shutdown).
func (a *App) body(ctx context.Context, n *btcheaders.Node) (*utxo.Block, int, error) {
	for attempt := 0; ; attempt++ {
		raw, err := a.cfg.Bodies.Body(ctx, n.Hash(), n.Height())
		var blk *utxo.Block
		if err == nil {
			blk, err = a.checkBody(raw, n)
		}
		if err == nil {
			return blk, len(raw), nil
		}
		a.log.Warn("waiting for the block body", "height", n.Height(), "hash", n.Hash(), "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			a.log.Warn("stopping while waiting for a block body: this block is not committed and is replayed at the next start "+
				"(CometBFT reports the abandoned block as a CONSENSUS FAILURE)", "height", n.Height(), "hash", n.Hash())
			return nil, 0, fmt.Errorf("app: waiting for the body of %s: %w", n.Hash(), ctx.Err())
		case <-time.After(a.cfg.BodyRetry):
		}
	}
}

// ErrWrongBody: a body that is not the block its header names.
var ErrWrongBody = errors.New("app: body does not match its header")

func (a *App) checkBody(raw []byte, n *btcheaders.Node) (*utxo.Block, error) {
	return CheckBody(a.engine.Params(), n.Hash(), n.Height(), raw)
}

// CheckBody decides whether raw is the block whose header hashes to hash,
// at height: the header bytes hash to it, and the transactions match the
// header's merkle root (without the CVE-2012-2459 duplicated tail) and the
// coinbase's witness commitment. Anyone can mutate a copy of a block in
// those ways, so such a body (an error wrapping ErrWrongBody) says nothing
// about the block itself. Every other rule the block may break is its own,
// and left to Connect: the block is returned for it.
func CheckBody(p *utxo.Params, hash chainhash.Hash, height int32, raw []byte) (*utxo.Block, error) {
	if len(raw) < 80 {
		return nil, fmt.Errorf("%w: %d bytes", ErrWrongBody, len(raw))
	}
	if h := chainhash.DoubleHashH(raw[:80]); h != hash {
		return nil, fmt.Errorf("%w: body is block %s, want %s", ErrWrongBody, h, hash)
	}
	blk, err := utxo.DecodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrongBody, err)
	}
	err = utxo.CheckBlock(blk, p, height)
	for _, c := range []utxo.ErrorCode{utxo.ErrBadMerkleRoot, utxo.ErrMutatedMerkle, utxo.ErrBadWitnessCommitment, utxo.ErrUnexpectedWitness} {
		if utxo.IsRuleError(err, c) {
			return nil, fmt.Errorf("%w: %v", ErrWrongBody, err)
		}
	}
	return blk, nil
}

// canonical is called for each block as it is connected. It pays nothing
// and takes no attendance: it opens the block's attendance window, which
// settle closes attendance_window satnode blocks later (attendance.go).
// A block already in its window or settled keeps it: reconnecting after a
// short reorg neither reopens the window nor pays twice.
func (a *App) canonical(n *btcheaders.Node, _ time.Time) error {
	if r := a.recs.m[n.Hash()]; r != nil && !r.paid && r.canonicalAt == 0 {
		a.settling.opened(r)
	}
	return nil
}

// finalize moves the finalized base up to finality_depth below the UTXO
// tip, pruning the header tree and the records of pruned headers.
func (a *App) finalize() error {
	tip, err := a.btcTip()
	if err != nil {
		return err
	}
	h := tip.Height() - a.params.FinalityDepth
	if h <= a.tree.Base().Height() {
		return nil
	}
	old := a.tree.Base().Height()
	pruned, err := a.tree.SetBase(tip.Ancestor(h))
	if err != nil {
		return fmt.Errorf("%w: finalize %d: %v", ErrHalt, h, err)
	}
	// The records to drop: those of the pruned branches, and those at or
	// below the new base (the base's own chain, now final).
	for _, n := range pruned {
		if r := a.recs.m[n.Hash()]; r != nil {
			a.recs.remove(r)
		}
	}
	for ht := old + 1; ht <= h; ht++ {
		for _, r := range a.recs.atHeight(ht) {
			a.recs.remove(r)
		}
	}
	return nil
}
