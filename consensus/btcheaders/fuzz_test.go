package btcheaders

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// fuzzTree is a small simnet tree with a fork, rebuilt for every input.
func fuzzTree(t testing.TB) *Tree {
	chain := simnetRetargetChain()[:30]
	tr := mustNew(t, &chaincfg.SimNetParams, startFrom(&chaincfg.SimNetParams, chain, 12))
	for i := 13; i < len(chain); i++ {
		mustAdd(t, tr, &chain[i])
	}
	return tr
}

// FuzzAdd feeds arbitrary 80-byte headers to Add. The first input byte
// picks a node whose hash replaces the previous-block field (when its top
// bit is set), so that inputs reach the contextual rules; the next 8 bytes
// are now. Add must never panic, a rejection must leave the tree as it was,
// and an accepted header must survive a store round trip.
func FuzzAdd(f *testing.F) {
	chain := simnetRetargetChain()
	for _, i := range []int{30, 31, 2016} {
		var buf bytes.Buffer
		buf.WriteByte(0)
		binary.Write(&buf, binary.BigEndian, chain[i].Timestamp.Unix())
		chain[i].Serialize(&buf)
		f.Add(buf.Bytes())
	}
	f.Add(make([]byte, 89))
	var buf bytes.Buffer
	buf.WriteByte(0x80 | 17)
	binary.Write(&buf, binary.BigEndian, chain[30].Timestamp.Unix())
	chain[30].Serialize(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 89 {
			return
		}
		tr := fuzzTree(t)
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(data[9:89])); err != nil {
			t.Fatal(err)
		}
		if data[0]&0x80 != 0 {
			nodes := tr.Nodes()
			h.PrevBlock = nodes[int(data[0]&0x7f)%len(nodes)].Hash()
		}
		now := time.Unix(int64(binary.BigEndian.Uint64(data[1:9])), 0)
		root := tr.Root()
		n, err := tr.Add(&h, now)
		if err != nil {
			if _, ok := err.(RuleError); !ok {
				t.Fatalf("not a rule error: %v", err)
			}
			if tr.Root() != root {
				t.Fatal("a rejected header changed the tree")
			}
			return
		}
		if n.Header() != h || tr.BestChain(nil) == nil {
			t.Fatal("accepted header stored differently")
		}
		s := memstore.New()
		saveTo(t, s)(tr)
		loaded, err := Load(s, &chaincfg.SimNetParams, testPrefix)
		if err != nil {
			t.Fatal(err)
		}
		equalTrees(t, tr, loaded)
	})
}

// FuzzLoad stores arbitrary records and loads them. The input is a list of
// entries, each u8 key length ‖ key ‖ u8 value length ‖ value, put after a
// valid tree's own records (so they overwrite some). Load must never panic,
// and a tree it accepts must write itself back and load the same.
func FuzzLoad(f *testing.F) {
	tr := fuzzTree(f)
	meta := tr.metaValue()
	entry := func(k, v []byte) []byte {
		k = k[len(testPrefix):]
		return append(append(append([]byte{byte(len(k))}, k...), byte(len(v))), v...)
	}
	f.Add([]byte{})
	f.Add(entry(tr.metaKey(), meta))
	badMeta := bytes.Clone(meta)
	badMeta[7] ^= 1
	f.Add(entry(tr.metaKey(), badMeta))
	nodes := tr.Nodes()
	f.Add(entry(tr.nodeKey(nodes[3]), appendNodeValue(nil, nodes[4])))
	f.Add(entry(tr.nodeKey(nodes[5]), nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := memstore.New()
		saveTo(t, s)(fuzzTree(t))
		err := s.Update(len(data)*2+64, false, func(b utxo.Batch) error {
			for len(data) > 0 {
				kl := int(data[0])
				data = data[1:]
				if len(data) < kl+1 {
					return nil
				}
				k := append(bytes.Clone(testPrefix), data[:kl]...)
				vl := int(data[kl])
				data = data[kl+1:]
				if len(data) < vl {
					vl = len(data)
				}
				if vl == 0 && len(k) > 1 && k[1] == tagNode {
					b.Delete(k)
				} else {
					b.Put(k, data[:vl])
				}
				data = data[vl:]
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		lt, err := Load(s, &chaincfg.SimNetParams, testPrefix)
		if err != nil {
			return
		}
		lt.Tips()
		lt.BestChain(nil)
		again := memstore.New()
		lt.metaDirty = true
		for _, n := range lt.Nodes() {
			n.saved = false
			lt.added = append(lt.added, n)
		}
		saveTo(t, again)(lt)
		l2, err := Load(again, &chaincfg.SimNetParams, testPrefix)
		if err != nil {
			t.Fatalf("a loaded tree does not reload: %v", err)
		}
		equalTrees(t, lt, l2)
	})
}
