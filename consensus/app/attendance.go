package app

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// Attendance windows. A Bitcoin block's reward and attendance are not
// settled the moment it becomes canonical — then whoever lands one block
// after the 2/3 quorum would miss every block — but attendance_window
// satnode blocks later:
//
//   - In the satnode block where the block becomes canonical (advance →
//     canonical), its window opens: settle stamps canonicalAt with that
//     height. Endorsements in the same satnode block or before are on
//     time (executed before advance); from the next one on they are late,
//     until the window closes.
//   - settle, right after advance in every FinalizeBlock, closes the
//     windows of the records with height ≥ canonicalAt + attendance_window,
//     in order (canonicalAt, Bitcoin height, hash). Endorsements in blocks
//     canonicalAt + 1 … canonicalAt + attendance_window are late: a full
//     attendance_window blocks.
//   - A record still on the canonical chain (an ancestor-or-self of the
//     UTXO tip) is paid (staking.PayBitcoinBlockReward with its on-time
//     and late endorsers) and is one attendance round for the active set
//     (staking.RecordAttendance: signed = on time ∪ late), then marked
//     paid (settled); endorsing it is then ignored. A record that left the
//     canonical chain is not paid: its window is cancelled (canonicalAt =
//     0), and opens again if it ever becomes canonical again.
//   - finalize prunes records the finalized base passes. A block only
//     finality_depth below the tip is never in that position in steady
//     state (depth 100 ≫ window 10 Bitcoin blocks of ten minutes), but a
//     catch-up can connect more than finality_depth blocks inside one
//     window. settle therefore settles every open record at or below the
//     base finalize is about to set, early: it is paid to its endorsers so
//     far, but it is no attendance round — validators had no fair chance
//     to endorse it late, and counting it would jail whoever is one block
//     behind during a catch-up, the very defect windows remove.
//
// The queue is derived state: rebuilt from the records on load
// (settlement.rebuild), never stored itself.

// settlement is the queue of open windows: records canonical and not
// settled, and those that became canonical in the block being finalized,
// waiting for settle to stamp them.
type settlement struct {
	open  map[*blockRec]struct{}
	fresh map[*blockRec]struct{}
}

// opened notes that r became canonical in the block being finalized.
func (q *settlement) opened(r *blockRec) {
	if q.fresh == nil {
		q.fresh = make(map[*blockRec]struct{})
	}
	q.fresh[r] = struct{}{}
}

// rebuild fills the queue from loaded records: those with a window open.
func (q *settlement) rebuild(rs *records) {
	q.open, q.fresh = make(map[*blockRec]struct{}), nil
	for _, r := range rs.m {
		if r.canonicalAt != 0 && !r.paid {
			q.open[r] = struct{}{}
		}
	}
}

func (q *settlement) add(r *blockRec) {
	if q.open == nil {
		q.open = make(map[*blockRec]struct{})
	}
	q.open[r] = struct{}{}
}

// settle stamps the windows opened in this block with height, then closes
// the windows that are due (see above). Its cost is in proportion to the
// open windows, a handful in steady state.
func (a *App) settle(height int64, now time.Time) error {
	q := &a.settling
	for r := range q.fresh {
		if !r.removed {
			r.canonicalAt = height
			a.recs.touch(r)
			q.add(r)
		}
	}
	clear(q.fresh)
	tip, err := a.btcTip()
	if err != nil {
		return err
	}
	// The base finalize sets next: records at or below it are pruned.
	finalAt := tip.Height() - a.params.FinalityDepth
	var due []*blockRec
	for r := range q.open {
		switch {
		case r.removed: // pruned with a branch that lost: never paid
			delete(q.open, r)
		case height >= r.canonicalAt+a.params.AttendanceWindow || r.height <= finalAt:
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(x, y *blockRec) int {
		switch {
		case x.canonicalAt != y.canonicalAt:
			return cmpInt64(x.canonicalAt, y.canonicalAt)
		case x.height != y.height:
			return cmpInt64(int64(x.height), int64(y.height))
		}
		return bytes.Compare(x.hash[:], y.hash[:])
	})
	for _, r := range due {
		delete(q.open, r)
		a.recs.touch(r)
		if n := tip.Ancestor(r.height); n == nil || n.Hash() != r.hash {
			r.canonicalAt = 0
			a.log.Info("attendance window cancelled: the block left the canonical chain", "height", r.height, "hash", r.hash)
			continue
		}
		r.paid = true
		if _, err := a.stake.PayBitcoinBlockReward(r.height, r.submitter, r.endorsers, r.late); err != nil {
			return fmt.Errorf("%w: reward of %s: %v", ErrHalt, r.hash, err)
		}
		if height < r.canonicalAt+a.params.AttendanceWindow {
			// Every block while catching up: the blocks become final
			// faster than their windows close.
			a.log.Debug("settled early: final before its attendance window closed, no attendance taken",
				"height", r.height, "hash", r.hash)
			continue
		}
		jailed, err := a.stake.RecordAttendance(mergeAddrs(r.endorsers, r.late), now)
		if err != nil {
			return fmt.Errorf("%w: attendance of %s: %v", ErrHalt, r.hash, err)
		}
		for _, op := range jailed {
			a.log.Warn("validator jailed: missed too many of its last downtime_window blocks", "operator", op,
				"height", r.height)
		}
	}
	return nil
}

func cmpInt64(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// mergeAddrs returns the union of two sorted, disjoint lists, sorted.
func mergeAddrs(a, b []tx.Address) []tx.Address {
	out := slices.Concat(a, b)
	slices.SortFunc(out, cmpAddress)
	return out
}
