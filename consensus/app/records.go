package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/tx"
)

// Key prefixes of the consensus state, beside the UTXO engine's lower-case
// tables in the same store (utxo.ReservedKey).
var (
	prefixHeaders = []byte{'H'} // consensus/btcheaders
	prefixStaking = byte('S')   // consensus/staking
	// 'E' 01 u32be(height) hash → endorsement record (below)
	prefixEndorse = []byte{'E', 1}
	// 'E' 02 hash → u32be(height): the records by hash, so a committed
	// view finds a header of the tree from its hash with one read.
	prefixEndorseByHash = []byte{'E', 2}
	// 'A' 01 'm' → meta record; 'A' 01 'g' → genesis record
	keyMeta    = []byte{'A', 1, 'm'}
	keyGenesis = []byte{'A', 1, 'g'}
)

// blockRec is what the application knows of one Bitcoin header in the
// tree, beyond the header itself: who submitted it first (the synchronizer
// its reward goes to), which validators endorsed it, on time or late, and
// how far it got.
//
// Value layout (version 2 of the 'E' 01 table):
//
//	submitter [32] ‖ flags [1] ‖ uvarint canonical_at ‖
//	uvarint n ‖ n × operator [32] (on time, ascending) ‖
//	uvarint m ‖ m × operator [32] (late, ascending, none of them on time)
//
// flags: bit 0 endorsed, bit 1 paid (settled), bit 2 set in every
// version 2 value. Version 1 (submitter ‖ flags ‖ the on-time list) never
// set bit 2, so a version 1 value is recognised and refused, not misread.
// Uvarints are minimal: a value is the one encode writes, or corrupt.
//
// Example: submitted by S, endorsed, not settled, canonical since satnode
// height 300 (ac 02), endorsed on time by A, late by B:
//
//	S (32) ‖ 05 ‖ ac02 ‖ 01 ‖ A (32) ‖ 01 ‖ B (32)
type blockRec struct {
	height    int32
	hash      chainhash.Hash
	submitter tx.Address
	// endorsers endorsed it before it became canonical (on time):
	// operators, sorted, no duplicates.
	endorsers []tx.Address
	// late endorsed it after it became canonical and before it was
	// settled: operators, sorted, none of them in endorsers.
	late []tx.Address
	// endorsed is sticky: once validators holding 2/3 of the power at
	// counting time endorsed the block, later stake changes do not undo it.
	endorsed bool
	// canonicalAt is the satnode height at which the block became
	// canonical, 0 while it is not (never was, or left the canonical chain
	// before its attendance window closed). The window runs
	// attendance_window blocks from there (attendance.go).
	canonicalAt int64
	// paid: settled. Its attendance window closed while it was canonical
	// and its reward and attendance were handled, once: a block that
	// leaves the canonical chain and comes back is not paid twice, and
	// endorsing it is of no more use.
	paid bool

	// Bookkeeping of the records collection (recordset.go), not stored.
	dirty, removed  bool
	countedEndorsed bool
}

const (
	flagEndorsed = 1 << 0
	flagPaid     = 1 << 1
	flagLayoutV2 = 1 << 2
)

func recKey(height int32, hash chainhash.Hash) []byte {
	k := append([]byte{}, prefixEndorse...)
	k = binary.BigEndian.AppendUint32(k, uint32(height))
	return append(k, hash[:]...)
}

func (r *blockRec) encode() []byte {
	v := make([]byte, 0, 32+1+10+2+32*(len(r.endorsers)+len(r.late)))
	v = append(v, r.submitter[:]...)
	f := byte(flagLayoutV2)
	if r.endorsed {
		f |= flagEndorsed
	}
	if r.paid {
		f |= flagPaid
	}
	v = append(v, f)
	v = binary.AppendUvarint(v, uint64(r.canonicalAt))
	for _, list := range [][]tx.Address{r.endorsers, r.late} {
		v = binary.AppendUvarint(v, uint64(len(list)))
		for _, e := range list {
			v = append(v, e[:]...)
		}
	}
	return v
}

func decodeRec(k, v []byte) (*blockRec, error) {
	if len(k) != len(prefixEndorse)+4+32 {
		return nil, fmt.Errorf("%w: endorsement key %x", ErrCorrupt, k)
	}
	r := &blockRec{height: int32(binary.BigEndian.Uint32(k[2:6]))}
	copy(r.hash[:], k[6:])
	bad := func(why string) error { return fmt.Errorf("%w: endorsement record %x: %s", ErrCorrupt, k, why) }
	if len(v) < 33 {
		return nil, bad("too short")
	}
	copy(r.submitter[:], v[:32])
	f := v[32]
	if f&flagLayoutV2 == 0 {
		return nil, bad("version 1 layout, from before attendance windows: start from a fresh store")
	}
	if f&^(flagEndorsed|flagPaid|flagLayoutV2) != 0 {
		return nil, bad(fmt.Sprintf("unknown flags %#x", f))
	}
	r.endorsed, r.paid = f&flagEndorsed != 0, f&flagPaid != 0
	rest := v[33:]
	uvarint := func() (uint64, bool) {
		x, w := binary.Uvarint(rest)
		if w <= 0 {
			return 0, false
		}
		rest = rest[w:]
		return x, true
	}
	at, ok := uvarint()
	if !ok || at > math.MaxInt64 {
		return nil, bad("bad canonical height")
	}
	r.canonicalAt = int64(at)
	for _, list := range []*[]tx.Address{&r.endorsers, &r.late} {
		n, ok := uvarint()
		if !ok || n > uint64(len(rest))/32 {
			return nil, bad("bad endorser list")
		}
		for i := uint64(0); i < n; i++ {
			a := tx.Address(rest[:32])
			rest = rest[32:]
			if l := *list; len(l) > 0 && bytes.Compare(l[len(l)-1][:], a[:]) >= 0 {
				return nil, bad("endorsers not sorted")
			}
			*list = append(*list, a)
		}
	}
	if len(rest) != 0 {
		return nil, bad("bytes after the late list")
	}
	for _, op := range r.late {
		if r.onTime(op) {
			return nil, bad(fmt.Sprintf("%s both on time and late", op))
		}
	}
	if !bytes.Equal(r.encode(), v) {
		return nil, bad("not in canonical form")
	}
	return r, nil
}

func cmpAddress(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) }

func (r *blockRec) onTime(op tx.Address) bool {
	_, found := slices.BinarySearchFunc(r.endorsers, op, cmpAddress)
	return found
}

// endorsedBy reports whether op endorsed r, on time or late.
func (r *blockRec) endorsedBy(op tx.Address) bool {
	_, late := slices.BinarySearchFunc(r.late, op, cmpAddress)
	return late || r.onTime(op)
}

// addEndorser records op's endorsement: on time while the block is not
// canonical, late once it is. It returns false if op already endorsed r,
// either way. The caller refuses endorsements of settled records.
func (r *blockRec) addEndorser(op tx.Address) (added, late bool) {
	if r.endorsedBy(op) {
		return false, false
	}
	list := &r.endorsers
	if r.canonicalAt != 0 {
		list = &r.late
	}
	i, _ := slices.BinarySearchFunc(*list, op, cmpAddress)
	*list = slices.Insert(*list, i, op)
	return true, r.canonicalAt != 0
}
