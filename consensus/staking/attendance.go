package staking

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// Attendance is measured like Cosmos x/slashing's signed-blocks window: a
// round is one settled canonical Bitcoin block; each validator in the
// active set at that moment either signed it (endorsed it on time or late)
// or missed it. A validator keeps one bit per round over its last
// downtime_window rounds, in a ring: next is where the coming round goes,
// and the bit there, the round downtime_window rounds ago, drops out. Its
// missed count is the number of set bits, so a round costs O(1) per active
// validator whatever the window. More than downtime_max_missed set bits
// jails it and clears the window.

// window is one validator's signed-blocks window. It exists from the first
// round the validator is counted in until it is jailed.
type window struct {
	next uint32 // ring position of the next round, < downtime_window
	// missed holds bit i at byte i/8, mask 0x80 >> i%8, set when round
	// position i was missed. It grows a chunk at a time as bits are set;
	// bits past its end are clear.
	missed []byte
}

// chunkBytes is the size of one stored piece of a window's bitmap: a round
// rewrites at most one 64-byte chunk, never the whole window.
const (
	chunkBytes = 64
	chunkBits  = 8 * chunkBytes
)

func windowChunks(p Params) uint32 { return (p.DowntimeWindow + chunkBits - 1) / chunkBits }

func (w *window) bit(i uint32) bool {
	return int(i/8) < len(w.missed) && w.missed[i/8]&(0x80>>(i%8)) != 0
}

func (w *window) set(i uint32, on bool) {
	if on && int(i/8) >= len(w.missed) {
		n := (int(i/chunkBits) + 1) * chunkBytes
		w.missed = append(w.missed, make([]byte, n-len(w.missed))...)
	}
	if int(i/8) >= len(w.missed) {
		return
	}
	if on {
		w.missed[i/8] |= 0x80 >> (i % 8)
	} else {
		w.missed[i/8] &^= 0x80 >> (i % 8)
	}
}

func (w *window) count() uint64 {
	var n uint64
	for _, b := range w.missed {
		n += uint64(bits.OnesCount8(b))
	}
	return n
}

// chunk returns the bytes of chunk c, nil if they are all clear.
func (w *window) chunk(c uint32) []byte {
	lo := int(c) * chunkBytes
	if lo >= len(w.missed) {
		return nil
	}
	b := w.missed[lo : lo+chunkBytes]
	if bytes.Count(b, []byte{0}) == chunkBytes {
		return nil
	}
	return bytes.Clone(b) // stored values must not change under the record map
}

// RecordAttendance takes attendance for one round, a settled canonical
// Bitcoin block: signed are the operators whose validators endorsed it, on
// time or late. Every validator in the active set now is counted, in rank
// order: it signed the round if listed, else it missed it; validators
// outside the active set (jailed, too little stake, or ranked below
// max_validators) are not counted, even if listed. A validator that has
// then missed more than downtime_max_missed of its last downtime_window
// rounds is jailed until now + downtime_jail_duration, downtime_slash_bps
// of its bonded tokens is burned (unbonding entries are not touched: a
// liveness fault endangers no one's funds), and its window is cleared.
// It returns the newly jailed operators in address order. Unknown or
// repeated operators are rejected and change nothing.
func (s *State) RecordAttendance(signed []tx.Address, now time.Time) ([]tx.Address, error) {
	seen := make(map[tx.Address]struct{}, len(signed))
	for _, op := range signed {
		if _, ok := s.validators[op]; !ok {
			return nil, reject(tx.CodeUnknownValidator, "%s operates no validator", op)
		}
		if _, dup := seen[op]; dup {
			return nil, internalf("operator %s listed twice", op)
		}
		seen[op] = struct{}{}
	}
	s.ensureActive()
	// A copy: jailing invalidates the set, but the round counts those
	// that were active when it was taken.
	active := slices.Clone(s.active)
	until := jailEnd(now, s.params.DowntimeJailDuration)
	var jailed []tx.Address
	for _, a := range active {
		v := s.validators[a.Operator]
		_, ok := seen[a.Operator]
		s.recordRound(v, !ok)
		if v.missed <= s.params.DowntimeMaxMissed {
			continue
		}
		burned := fractionBps(v.tokens, s.params.DowntimeSlashBps)
		v.tokens -= burned
		s.setSupply(s.supply-burned, s.community)
		s.jail(v, until)
		jailed = append(jailed, a.Operator)
	}
	slices.SortFunc(jailed, func(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) })
	return jailed, nil
}

// recordRound writes one round into v's window: the bit at next is
// replaced, the missed count follows, next moves on.
func (s *State) recordRound(v *validator, missed bool) {
	w := s.windows[v.operator]
	if w == nil {
		w = &window{}
		s.windows[v.operator] = w
	}
	i := w.next
	if w.bit(i) != missed {
		w.set(i, missed)
		if missed {
			v.missed++
		} else {
			v.missed--
		}
		s.touchValidator(v)
		s.rec.touch(missedKey(v.operator, i/chunkBits))
	}
	w.next = (i + 1) % s.params.DowntimeWindow
	s.rec.touch(windowKey(v.operator))
}

// resetWindow forgets v's window: its records are deleted and its missed
// count is zero again.
func (s *State) resetWindow(v *validator) {
	if w := s.windows[v.operator]; w != nil {
		for c := 0; c*chunkBytes < len(w.missed); c++ {
			s.rec.touch(missedKey(v.operator, uint32(c)))
		}
		delete(s.windows, v.operator)
		s.rec.touch(windowKey(v.operator))
	}
	if v.missed != 0 {
		v.missed = 0
		s.touchValidator(v)
	}
}

// Records: 'w' ‖ operator → next (4); 'm' ‖ operator ‖ chunk (2) → 64
// bytes of the bitmap, present only when some bit is set.

func windowKey(op tx.Address) string { return key(tagWindow, op[:]) }

func missedKey(op tx.Address, chunk uint32) string {
	return key(tagMissed, op[:], binary.BigEndian.AppendUint16(nil, uint16(chunk)))
}

func encodeWindow(w *window) []byte { return binary.BigEndian.AppendUint32(nil, w.next) }

// loadWindow and loadMissed rebuild windows; CheckInvariants then checks
// them against the params and the validators' missed counts, and
// linkLoaded that every window has its 'w' record.
func (s *State) loadWindow(op tx.Address, v []byte) error {
	r := reader{b: v}
	next := r.u32()
	if !r.done() {
		return corruptf("window value %x: want 4 bytes", v)
	}
	s.windowOf(op).next = next
	return nil
}

func (s *State) loadMissed(op tx.Address, chunk uint16, v []byte) error {
	if len(v) != chunkBytes || chunk >= MaxDowntimeWindow/chunkBits {
		return corruptf("missed bitmap %x chunk %d: want %d bytes within the largest window", op[:], chunk, chunkBytes)
	}
	w := s.windowOf(op)
	lo := int(chunk) * chunkBytes
	if need := lo + chunkBytes; need > len(w.missed) {
		w.missed = append(w.missed, make([]byte, need-len(w.missed))...)
	}
	copy(w.missed[lo:], v)
	return nil
}

func (s *State) windowOf(op tx.Address) *window {
	w := s.windows[op]
	if w == nil {
		w = &window{}
		s.windows[op] = w
	}
	return w
}

// checkWindows is CheckInvariants' part for attendance: windows belong to
// unjailed validators, stay within downtime_window, and their set bits
// are the validators' missed counts; a validator without a window missed
// nothing.
func (s *State) checkWindows() error {
	for op, w := range s.windows {
		v, ok := s.validators[op]
		switch {
		case !ok:
			return invariantf("window of unknown validator %s", op)
		case v.jailed:
			return invariantf("jailed validator %s keeps a window", op)
		case w.next >= s.params.DowntimeWindow || len(w.missed) > int(windowChunks(s.params))*chunkBytes:
			return invariantf("window of %s beyond downtime_window", op)
		case w.count() != uint64(v.missed):
			return invariantf("validator %s: missed %d, window has %d", op, v.missed, w.count())
		}
		for i := s.params.DowntimeWindow; int(i/8) < len(w.missed); i++ {
			if w.bit(i) {
				return invariantf("window of %s: bit %d set beyond downtime_window", op, i)
			}
		}
	}
	for op, v := range s.validators {
		if _, ok := s.windows[op]; !ok && v.missed != 0 {
			return invariantf("validator %s missed %d without a window", op, v.missed)
		}
	}
	return nil
}
