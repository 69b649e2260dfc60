package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// fullRecordsRoot computes the records' root from scratch, straight from
// its definition, for the incremental one to be checked against.
func fullRecordsRoot(rs *records) [32]byte {
	fresh := newRecords()
	for _, r := range rs.m {
		fresh.add(r)
	}
	return fresh.root()
}

func randomRec(rng *rand.Rand, height int32) *blockRec {
	r := &blockRec{height: height}
	for i := range r.hash {
		r.hash[i] = byte(rng.IntN(256))
	}
	r.submitter[0] = byte(rng.IntN(256))
	return r
}

// TestRecordsRoot: the incremental root equals one computed from scratch
// after any sequence of additions, endorsements and removals, whatever the
// order of insertion, and again after a write and a load.
func TestRecordsRoot(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	rs := newRecords()
	var live []*blockRec
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(live) == 0:
			r := randomRec(rng, int32(rng.IntN(200)))
			if rs.m[r.hash] != nil {
				continue
			}
			rs.put(r)
			live = append(live, r)
		case op < 8:
			r := live[rng.IntN(len(live))]
			var op tx.Address
			op[0] = byte(rng.IntN(8))
			if added, _ := r.addEndorser(op); added {
				rs.touch(r)
			}
			if rng.IntN(4) == 0 && !r.endorsed {
				r.endorsed = true
				rs.touch(r)
			}
		default:
			i := rng.IntN(len(live))
			rs.remove(live[i])
			live = append(live[:i], live[i+1:]...)
		}
		if step%97 == 0 {
			if got, want := rs.root(), fullRecordsRoot(rs); got != want {
				t.Fatalf("step %d: incremental root %x, from scratch %x", step, got, want)
			}
		}
		unendorsed, partial := 0, 0
		for _, r := range rs.m {
			if !r.endorsed {
				unendorsed++
				if len(r.endorsers) > 0 {
					partial++
				}
			}
		}
		if rs.unendorsed != unendorsed || len(rs.partial) != partial {
			t.Fatalf("step %d: unendorsed %d (want %d), partial %d (want %d)", step, rs.unendorsed, unendorsed, len(rs.partial), partial)
		}
	}
	// Written and loaded back: the same root.
	store := memstore.New()
	if err := store.Update(0, false, func(b utxo.Batch) error { rs.writeChanges(b); return nil }); err != nil {
		t.Fatal(err)
	}
	loaded, err := loadRecords(store)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.root() != rs.root() || len(loaded.m) != len(rs.m) || loaded.unendorsed != rs.unendorsed {
		t.Fatal("the loaded records differ from those written")
	}
	// Every hash index entry points at its record's height, and the
	// removed records left none behind.
	n := 0
	it := store.Iterate(prefixEndorseByHash, nil)
	for it.Next() {
		var h chainhash.Hash
		copy(h[:], it.Key()[len(prefixEndorseByHash):])
		r := rs.m[h]
		if r == nil {
			t.Fatalf("index entry of a record that is gone: %s", h)
		}
		n++
	}
	it.Release()
	if n != len(rs.m) {
		t.Fatalf("%d index entries for %d records", n, len(rs.m))
	}
}

// TestEndorsementsQueryPages: the ABCI /endorsements query lists the open
// records a page at a time from the committed view, and refuses bad
// cursors and limits.
func TestEndorsementsQueryPages(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	h.mustOK(h.sign(h.sync, tx.SubmitHeaders{Headers: regtestBranch(genesisHash(), genesisTime(), 25, 'q')}))
	query := func(path string) ([]endorsementJSON, uint32) {
		res, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		var out []endorsementJSON
		if res.Code == 0 {
			if err := json.Unmarshal(res.Value, &out); err != nil {
				t.Fatal(err)
			}
			if res.Height != h.height {
				t.Fatalf("answer at %d, committed %d", res.Height, h.height)
			}
		}
		return out, res.Code
	}
	var all []endorsementJSON
	path := "/endorsements?limit=10"
	for range 10 {
		page, code := query(path)
		if code != 0 {
			t.Fatalf("%s: code %d", path, code)
		}
		all = append(all, page...)
		if len(page) < 10 {
			break
		}
		last := page[len(page)-1]
		path = fmt.Sprintf("/endorsements?limit=10&after=%d:%s", last.Height, last.Hash)
	}
	if len(all) != 25 {
		t.Fatalf("%d records over the pages, want 25", len(all))
	}
	for i, r := range all {
		if r.Height != int32(i+1) {
			t.Fatalf("record %d at height %d", i, r.Height)
		}
	}
	for _, bad := range []string{"/endorsements?limit=0", "/endorsements?limit=1001", "/endorsements?after=5",
		"/endorsements?after=x:y", "/endorsements?after=-1:" + all[0].Hash} {
		if _, code := query(bad); tx.Code(code) != tx.CodeMalformed {
			t.Errorf("%s: code %d, want Malformed", bad, code)
		}
	}
}

// FuzzDecodeRec: no stored bytes make decodeRec panic, and whatever it
// accepts encodes back to the same bytes (one encoding per record, as the
// root requires).
func FuzzDecodeRec(f *testing.F) {
	r := &blockRec{height: 7, canonicalAt: 3, endorsed: true}
	r.hash[0], r.submitter[0] = 1, 2
	r.endorsers = []tx.Address{{3}}
	r.late = []tx.Address{{4}}
	f.Add(recKey(r.height, r.hash), r.encode())
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		got, err := decodeRec(k, v)
		if err != nil {
			return
		}
		if enc := got.encode(); string(enc) != string(v) {
			t.Fatalf("decoded %x, encodes back as %x", v, enc)
		}
	})
}
