package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

// Key prefixes of the consensus state, beside the UTXO engine's lower-case
// tables in the same store (utxo.ReservedKey).
var (
	prefixHeaders = []byte{'H'} // consensus/btcheaders
	prefixStaking = byte('S')   // consensus/staking
	// 'E' 01 u32be(height) hash → endorsement record (below)
	prefixEndorse = []byte{'E', 1}
	// 'A' 01 'm' → meta record; 'A' 01 'g' → genesis record
	keyMeta    = []byte{'A', 1, 'm'}
	keyGenesis = []byte{'A', 1, 'g'}
)

// blockRec is what the application knows of one Bitcoin header in the
// tree, beyond the header itself: who submitted it first (the synchronizer
// its reward goes to), which validators endorsed it, and how far it got.
//
// Value layout (version 1 of the 'E' table):
//
//	submitter [32] ‖ flags [1] (bit 0 endorsed, bit 1 paid) ‖
//	uvarint n ‖ n × operator [32], sorted ascending
type blockRec struct {
	height    int32
	hash      chainhash.Hash
	submitter tx.Address
	endorsers []tx.Address // operators, sorted, no duplicates
	// endorsed is sticky: once validators holding 2/3 of the power at
	// counting time endorsed the block, later stake changes do not undo it.
	endorsed bool
	// paid: its reward was paid, when it first became canonical. A block
	// that leaves the canonical chain and comes back is not paid twice.
	paid  bool
	dirty bool
}

const (
	flagEndorsed = 1 << 0
	flagPaid     = 1 << 1
)

func recKey(height int32, hash chainhash.Hash) []byte {
	k := append([]byte{}, prefixEndorse...)
	k = binary.BigEndian.AppendUint32(k, uint32(height))
	return append(k, hash[:]...)
}

func (r *blockRec) encode() []byte {
	v := make([]byte, 0, 32+1+1+32*len(r.endorsers))
	v = append(v, r.submitter[:]...)
	var f byte
	if r.endorsed {
		f |= flagEndorsed
	}
	if r.paid {
		f |= flagPaid
	}
	v = append(v, f)
	v = binary.AppendUvarint(v, uint64(len(r.endorsers)))
	for _, e := range r.endorsers {
		v = append(v, e[:]...)
	}
	return v
}

func decodeRec(k, v []byte) (*blockRec, error) {
	if len(k) != len(prefixEndorse)+4+32 {
		return nil, fmt.Errorf("%w: endorsement key %x", ErrCorrupt, k)
	}
	r := &blockRec{height: int32(binary.BigEndian.Uint32(k[2:6]))}
	copy(r.hash[:], k[6:])
	if len(v) < 34 {
		return nil, fmt.Errorf("%w: endorsement record %x too short", ErrCorrupt, k)
	}
	copy(r.submitter[:], v[:32])
	f := v[32]
	if f&^(flagEndorsed|flagPaid) != 0 {
		return nil, fmt.Errorf("%w: endorsement record %x: unknown flags %#x", ErrCorrupt, k, f)
	}
	r.endorsed, r.paid = f&flagEndorsed != 0, f&flagPaid != 0
	n, w := binary.Uvarint(v[33:])
	if w <= 0 || n > uint64(len(v)) || uint64(len(v)-33-w) != 32*n {
		return nil, fmt.Errorf("%w: endorsement record %x: bad endorser list", ErrCorrupt, k)
	}
	rest := v[33+w:]
	for i := uint64(0); i < n; i++ {
		var a tx.Address
		copy(a[:], rest[32*i:])
		if i > 0 && bytes.Compare(r.endorsers[i-1][:], a[:]) >= 0 {
			return nil, fmt.Errorf("%w: endorsement record %x: endorsers not sorted", ErrCorrupt, k)
		}
		r.endorsers = append(r.endorsers, a)
	}
	return r, nil
}

// addEndorser inserts op, keeping the list sorted; false if present.
func (r *blockRec) addEndorser(op tx.Address) bool {
	i, found := slices.BinarySearchFunc(r.endorsers, op, func(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) })
	if found {
		return false
	}
	r.endorsers = slices.Insert(r.endorsers, i, op)
	return true
}

// records are the blockRecs of the headers in the tree, by hash, with the
// keys of pruned ones waiting to be deleted.
type records struct {
	m       map[chainhash.Hash]*blockRec
	deleted [][]byte
}

func newRecords() *records { return &records{m: make(map[chainhash.Hash]*blockRec)} }

// sorted returns the records in key order (height, hash): map order must
// never reach stored bytes or results.
func (rs *records) sorted() []*blockRec {
	out := make([]*blockRec, 0, len(rs.m))
	for _, r := range rs.m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *blockRec) int {
		if a.height != b.height {
			return int(a.height) - int(b.height)
		}
		return bytes.Compare(a.hash[:], b.hash[:])
	})
	return out
}

func (rs *records) put(r *blockRec) {
	r.dirty = true
	rs.m[r.hash] = r
}

func (rs *records) remove(r *blockRec) {
	delete(rs.m, r.hash)
	rs.deleted = append(rs.deleted, recKey(r.height, r.hash))
}

func (rs *records) writeChanges(b utxo.Batch) {
	for _, k := range rs.deleted {
		b.Delete(k)
	}
	rs.deleted = rs.deleted[:0]
	for _, r := range rs.sorted() {
		if r.dirty {
			b.Put(recKey(r.height, r.hash), r.encode())
			r.dirty = false
		}
	}
}

func (rs *records) changesSize() int {
	n := 64 * len(rs.deleted)
	for _, r := range rs.m {
		if r.dirty {
			n += 96 + 32*len(r.endorsers)
		}
	}
	return n
}

// root digests every record in key order; it enters the app hash. The
// records are bounded (headers above the finalized base), so hashing them
// all each block is cheap.
func (rs *records) root() [32]byte {
	h := sha256.New()
	h.Write([]byte("satnode/endorsements/v1"))
	for _, r := range rs.sorted() {
		h.Write(recKey(r.height, r.hash))
		v := r.encode()
		h.Write(binary.AppendUvarint(nil, uint64(len(v))))
		h.Write(v)
	}
	return [32]byte(h.Sum(nil))
}

func loadRecords(kv utxo.KVReader) (*records, error) {
	rs := newRecords()
	it := kv.Iterate(prefixEndorse, nil)
	defer it.Release()
	for it.Next() {
		r, err := decodeRec(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		rs.m[r.hash] = r
	}
	return rs, it.Err()
}
