package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

// records are the blockRecs of the headers in the tree above the finalized
// base, by hash, indexed so that every per-block step costs in proportion
// to what changed, never to how many records there are (a catch-up or a
// header flood can hold 100,000):
//
//   - byHeight finds the records the finalized base passes;
//   - partial holds the records with endorsements but not yet endorsed,
//     the only ones countEndorsements must weigh;
//   - the root is a two-level tree of 4096 buckets (by the first 12 bits
//     of the block hash, which the submitter cannot choose without
//     proof of work on mainnet, and which spreads records evenly), each
//     rehashed only when one of its records changed;
//   - touched lists the records changed since the last write.
type records struct {
	m        map[chainhash.Hash]*blockRec
	byHeight map[int32][]*blockRec
	partial  map[*blockRec]struct{}
	// unendorsed counts the records not endorsed (the view's Unendorsed).
	unendorsed int

	touched []*blockRec
	deleted [][]byte

	buckets   [recBuckets]recBucket
	groups    [recBuckets / recGroup][32]byte
	rootHash  [32]byte
	rootValid bool
}

const (
	recBuckets    = 4096
	recGroup      = 64 // buckets per group of the middle level
	recRootDomain = "satnode/endorsements/v2"
)

type recBucket struct {
	recs  []*blockRec // sorted by (height, hash)
	hash  [32]byte
	dirty bool
}

func newRecords() *records {
	rs := &records{m: make(map[chainhash.Hash]*blockRec), byHeight: make(map[int32][]*blockRec),
		partial: make(map[*blockRec]struct{})}
	for i := range rs.buckets {
		rs.buckets[i].dirty = true
	}
	return rs
}

func recBucketOf(h chainhash.Hash) int { return int(h[0])<<4 | int(h[1]>>4) }

func cmpRec(a, b *blockRec) int {
	if a.height != b.height {
		if a.height < b.height {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.hash[:], b.hash[:])
}

// sortRecs sorts records in key order (height, hash): map order must never
// reach stored bytes or results.
func sortRecs(rs []*blockRec) []*blockRec {
	slices.SortFunc(rs, cmpRec)
	return rs
}

// touch marks r changed: written at the next commit and rehashed into the
// root. Every change to a record goes through it.
func (rs *records) touch(r *blockRec) {
	if !r.dirty {
		r.dirty = true
		rs.touched = append(rs.touched, r)
	}
	rs.buckets[recBucketOf(r.hash)].dirty = true
	rs.rootValid = false
	rs.classify(r)
}

// classify keeps partial and unendorsed in step with r.
func (rs *records) classify(r *blockRec) {
	if r.removed {
		return
	}
	if !r.endorsed && len(r.endorsers) > 0 {
		rs.partial[r] = struct{}{}
	} else {
		delete(rs.partial, r)
	}
	if r.endorsed != r.countedEndorsed {
		if r.endorsed {
			rs.unendorsed--
		} else {
			rs.unendorsed++
		}
		r.countedEndorsed = r.endorsed
	}
}

// add indexes a record (new, or loaded from the store).
func (rs *records) add(r *blockRec) {
	rs.m[r.hash] = r
	rs.byHeight[r.height] = append(rs.byHeight[r.height], r)
	b := &rs.buckets[recBucketOf(r.hash)]
	i, _ := slices.BinarySearchFunc(b.recs, r, cmpRec)
	b.recs = slices.Insert(b.recs, i, r)
	b.dirty, rs.rootValid = true, false
	r.countedEndorsed = true // as if endorsed: classify counts it if not
	rs.classify(r)
}

// put adds a new record, to be written at the next commit.
func (rs *records) put(r *blockRec) {
	rs.add(r)
	rs.touch(r)
}

// remove drops a record and deletes it, and its hash index entry, at the
// next commit.
func (rs *records) remove(r *blockRec) {
	if rs.m[r.hash] != r {
		return
	}
	delete(rs.m, r.hash)
	hs := rs.byHeight[r.height]
	if i := slices.Index(hs, r); i >= 0 {
		hs = slices.Delete(hs, i, i+1)
	}
	if len(hs) == 0 {
		delete(rs.byHeight, r.height)
	} else {
		rs.byHeight[r.height] = hs
	}
	delete(rs.partial, r)
	if !r.countedEndorsed {
		rs.unendorsed--
	}
	b := &rs.buckets[recBucketOf(r.hash)]
	if i, found := slices.BinarySearchFunc(b.recs, r, cmpRec); found {
		b.recs = slices.Delete(b.recs, i, i+1)
	}
	b.dirty, rs.rootValid = true, false
	r.removed = true
	rs.deleted = append(rs.deleted, recKey(r.height, r.hash), hashIndexKey(r.hash))
}

// atHeight returns the records at one height, in hash order.
func (rs *records) atHeight(h int32) []*blockRec {
	return sortRecs(slices.Clone(rs.byHeight[h]))
}

// partials returns the records with endorsements but not endorsed, in key
// order.
func (rs *records) partials() []*blockRec {
	out := make([]*blockRec, 0, len(rs.partial))
	for r := range rs.partial {
		out = append(out, r)
	}
	return sortRecs(out)
}

func hashIndexKey(h chainhash.Hash) []byte {
	return append(append([]byte{}, prefixEndorseByHash...), h[:]...)
}

// writeChanges puts the records changed since the last call into b, with
// their hash index entries, and deletes the removed ones.
func (rs *records) writeChanges(b utxo.Batch) {
	for _, k := range rs.deleted {
		b.Delete(k)
	}
	rs.deleted = rs.deleted[:0]
	for _, r := range sortRecs(rs.touched) {
		r.dirty = false
		if r.removed {
			continue
		}
		b.Put(recKey(r.height, r.hash), r.encode())
		b.Put(hashIndexKey(r.hash), binary.BigEndian.AppendUint32(nil, uint32(r.height)))
	}
	rs.touched = rs.touched[:0]
}

func (rs *records) changesSize() int {
	n := 64 * len(rs.deleted)
	for _, r := range rs.touched {
		n += 160 + 32*(len(r.endorsers)+len(r.late))
	}
	return n
}

// root commits to every record in three levels, as the header tree's root
// does (consensus/btcheaders/doc.go):
//
//	root     = sha256(domain ‖ G(0) ‖ … ‖ G(63))
//	G(g)     = sha256(H(64g) ‖ … ‖ H(64g+63))
//	H(b)     = sha256 over bucket b's records in key order of
//	           key ‖ uvarint(len value) ‖ value
//
// Only the buckets changed since the last call, and their groups, are
// rehashed: a block that touches one record hashes about 4 KiB, not the
// 128 KiB of 4096 bucket hashes.
func (rs *records) root() [32]byte {
	if rs.rootValid {
		return rs.rootHash
	}
	for g := range rs.groups {
		bs := rs.buckets[g*recGroup : (g+1)*recGroup]
		dirty := false
		for i := range bs {
			if bs[i].dirty {
				bs[i].rehash()
				dirty = true
			}
		}
		if !dirty && rs.groups[g] != ([32]byte{}) {
			continue
		}
		h := sha256.New()
		for i := range bs {
			h.Write(bs[i].hash[:])
		}
		h.Sum(rs.groups[g][:0])
	}
	top := sha256.New()
	top.Write([]byte(recRootDomain))
	for g := range rs.groups {
		top.Write(rs.groups[g][:])
	}
	top.Sum(rs.rootHash[:0])
	rs.rootValid = true
	return rs.rootHash
}

func (b *recBucket) rehash() {
	h := sha256.New()
	for _, r := range b.recs {
		h.Write(recKey(r.height, r.hash))
		v := r.encode()
		h.Write(binary.AppendUvarint(nil, uint64(len(v))))
		h.Write(v)
	}
	h.Sum(b.hash[:0])
	b.dirty = false
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
		rs.add(r)
	}
	return rs, it.Err()
}

// lateEndorsers returns the operators that endorsed r after it became
// canonical.
func (r *blockRec) lateEndorsers() []tx.Address { return r.late }
