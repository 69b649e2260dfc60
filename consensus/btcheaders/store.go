package btcheaders

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/satnode/satnode/utxo"
)

// The storage format is documented in doc.go; storeformat_test.go checks
// the worked example there byte for byte.
const (
	tagMeta    byte = 'm'
	tagNode    byte = 'n'
	keyVersion byte = 1

	headerLen    = 80
	nodeValueLen = headerLen + 8          // header ‖ u64be(seq)
	metaValueLen = 4 + 4 + 32 + 32 + 8    // net ‖ base height ‖ base hash ‖ bottom work ‖ next seq
	nodeKeyBody  = 4 + chainhash.HashSize // u32be(height) ‖ hash
)

func (t *Tree) metaKey() []byte {
	return append(bytes.Clone(t.prefix), tagMeta, keyVersion)
}

func nodePrefix(prefix []byte) []byte {
	return append(bytes.Clone(prefix), tagNode, keyVersion)
}

func (t *Tree) nodeKey(n *Node) []byte {
	k := make([]byte, 0, len(t.prefix)+2+nodeKeyBody)
	k = append(k, t.prefix...)
	k = append(k, tagNode, keyVersion)
	return appendNodeKeyBody(k, n)
}

func appendNodeKeyBody(dst []byte, n *Node) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(n.height))
	return append(dst, n.hash[:]...)
}

// appendHeader appends the 80-byte wire serialization of n's header.
func appendHeader(dst []byte, n *Node) []byte {
	h := n.Header()
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.Version))
	dst = append(dst, h.PrevBlock[:]...)
	dst = append(dst, h.MerkleRoot[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, n.time)
	dst = binary.LittleEndian.AppendUint32(dst, n.bits)
	return binary.LittleEndian.AppendUint32(dst, n.nonce)
}

func appendNodeValue(dst []byte, n *Node) []byte {
	dst = appendHeader(dst, n)
	return binary.BigEndian.AppendUint64(dst, n.seq)
}

func (t *Tree) metaValue() []byte {
	v := make([]byte, 0, metaValueLen)
	v = binary.BigEndian.AppendUint32(v, uint32(t.params.Net))
	v = binary.BigEndian.AppendUint32(v, uint32(t.base.height))
	v = append(v, t.base.hash[:]...)
	v = append(v, t.bottom.work[:]...)
	return binary.BigEndian.AppendUint64(v, t.nextSeq)
}

// HasChanges reports whether WriteChanges has anything to write.
func (t *Tree) HasChanges() bool {
	return t.metaDirty || len(t.added) > 0 || len(t.deleted) > 0
}

// ChangesSize returns an upper bound on the bytes the next WriteChanges
// writes, counted as goleveldb counts a batch (keys, values and 11 bytes of
// framing per entry), for utxo.Store.Update's size hint.
func (t *Tree) ChangesSize() int {
	const rec = 1 + 2*5
	key := len(t.prefix) + 2 + nodeKeyBody
	return len(t.deleted)*(rec+key) + len(t.added)*(rec+key+nodeValueLen) +
		rec + len(t.prefix) + 2 + metaValueLen
}

// WriteChanges puts the changes since the last call (or since New) into b:
// the nodes added and still in the tree, deletions of stored nodes that
// SetBase pruned, and the meta record. The caller commits b atomically with
// the rest of its state. Writes are sorted by key, so b's contents depend
// only on the tree's history, and the stored result only on the tree: calling
// it after every operation or once at the end leaves the same bytes.
//
// If the caller's commit fails, the tree no longer matches the store and must
// be discarded and reloaded with Load.
func (t *Tree) WriteChanges(b utxo.Batch) {
	slices.SortFunc(t.deleted, bytes.Compare)
	for _, k := range t.deleted {
		b.Delete(k)
	}
	live := t.added[:0]
	for _, n := range t.added {
		if !n.pruned {
			live = append(live, n)
		}
	}
	slices.SortFunc(live, compareHeightHash)
	for _, n := range live {
		b.Put(t.nodeKey(n), appendNodeValue(make([]byte, 0, nodeValueLen), n))
		n.saved = true
	}
	if t.metaDirty {
		b.Put(t.metaKey(), t.metaValue())
	}
	clear(t.added) // drop references to pruned nodes
	t.added = t.added[:0]
	t.deleted = nil
	t.metaDirty = false
}

func compareHeightHash(a, b *Node) int {
	if a.height != b.height {
		if a.height < b.height {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.hash[:], b.hash[:])
}

// Nodes returns every node, the base's ancestry included, in (height, hash)
// order, the order of the stored keys. It sorts the whole tree, so it is
// for Load, tests and tools, not for every block.
func (t *Tree) Nodes() []*Node {
	out := make([]*Node, 0, len(t.index))
	for _, n := range t.index {
		out = append(out, n)
	}
	slices.SortFunc(out, compareHeightHash)
	return out
}

// Load rebuilds a tree that WriteChanges stored under prefix: the same
// nodes, sequence numbers, base, tips and best chains. It checks that every
// header hashes to its key and links to a parent one height below, and the
// shape New and SetBase guarantee; it does not re-run the consensus rules.
// Nothing stored is ErrNoTree; stored bytes that do not decode or contradict
// each other are ErrCorrupt.
func Load(r utxo.KVReader, params *chaincfg.Params, prefix []byte) (*Tree, error) {
	t, err := newTree(params, prefix)
	if err != nil {
		return nil, err
	}
	meta, err := r.Get(t.metaKey())
	if utxo.IsNotFound(err) {
		return nil, ErrNoTree
	}
	if err != nil {
		return nil, fmt.Errorf("btcheaders: reading meta record: %w", err)
	}
	if len(meta) != metaValueLen {
		return nil, corruptf("meta record has %d bytes, want %d", len(meta), metaValueLen)
	}
	if net := wire.BitcoinNet(binary.BigEndian.Uint32(meta)); net != params.Net {
		return nil, fmt.Errorf("%w: stored %v, want %v", ErrWrongNetwork, net, params.Net)
	}
	baseHeight := int32(binary.BigEndian.Uint32(meta[4:]))
	var baseHash chainhash.Hash
	copy(baseHash[:], meta[8:40])
	var bottomWork [32]byte
	copy(bottomWork[:], meta[40:72])
	t.nextSeq = binary.BigEndian.Uint64(meta[72:])
	if baseHeight < 0 {
		return nil, corruptf("negative base height")
	}

	if err := t.loadNodes(r, bottomWork); err != nil {
		return nil, err
	}
	base, ok := t.index[baseHash]
	if !ok || base.height != baseHeight {
		return nil, corruptf("base %s at height %d is not stored", baseHash, baseHeight)
	}
	t.base = base
	if err := t.checkShape(); err != nil {
		return nil, err
	}
	t.cp = t.findCheckpoint()
	t.best = t.BestChain(nil)
	return t, nil
}

// loadNodes reads the node records in key order, which is height order, so
// every parent is read before its children.
func (t *Tree) loadNodes(r utxo.KVReader, bottomWork [32]byte) error {
	np := nodePrefix(t.prefix)
	it := r.Iterate(np, nil)
	defer it.Release()
	seqs := make(map[uint64]struct{})
	for it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(np)+nodeKeyBody || len(v) != nodeValueLen {
			return corruptf("node record %x: bad key or value length", k)
		}
		height := int32(binary.BigEndian.Uint32(k[len(np):]))
		var hash chainhash.Hash
		copy(hash[:], k[len(np)+4:])
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(v[:headerLen])); err != nil {
			return corruptf("node %s: %v", hash, err)
		}
		if h.BlockHash() != hash || height < 0 {
			return corruptf("node record %x does not match its header", k)
		}
		n := newNode(&h, hash, height)
		n.seq = binary.BigEndian.Uint64(v[headerLen:])
		n.saved = true
		if _, dup := seqs[n.seq]; dup || n.seq >= t.nextSeq {
			return corruptf("node %s: sequence number %d repeated or not below %d", hash, n.seq, t.nextSeq)
		}
		seqs[n.seq] = struct{}{}
		if t.bottom == nil {
			n.work = bottomWork
			p := h.PrevBlock
			n.prev = &p
			t.bottom = n
		} else {
			parent, ok := t.index[h.PrevBlock]
			if !ok || parent.height != height-1 {
				return corruptf("node %s at height %d has no parent one below", hash, height)
			}
			var over bool
			if n.work, over = add256(parent.work, headerWork(h.Bits)); over {
				return corruptf("node %s: cumulative work overflows", hash)
			}
			n.parent = parent
			parent.children = append(parent.children, n)
		}
		t.index[hash] = n
		t.root.add(n)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("btcheaders: reading nodes: %w", err)
	}
	if t.bottom == nil {
		return corruptf("meta record without nodes")
	}
	return nil
}

// checkShape checks what New and SetBase guarantee: the bottom sits at
// RequiredBottom of the base, the nodes below the base are exactly its
// ancestry, and every other node descends from the base. It also orders the
// children and collects the tips.
func (t *Tree) checkShape() error {
	if t.bottom.height != RequiredBottom(t.params, t.base.height) {
		return corruptf("lowest node at %d, want %d below base at %d",
			t.bottom.height, RequiredBottom(t.params, t.base.height), t.base.height)
	}
	if t.base.Ancestor(t.bottom.height) != t.bottom {
		return corruptf("base does not descend from the lowest node")
	}
	fromBase := make(map[*Node]struct{})
	below := int32(0)
	for _, n := range t.index {
		slices.SortFunc(n.children, func(a, b *Node) int {
			if a.seq < b.seq {
				return -1
			}
			return 1 // sequence numbers are unique
		})
		if len(n.children) == 0 {
			t.tips[n] = struct{}{}
		}
		if n.height < t.base.height {
			below++
		}
	}
	if below != t.base.height-t.bottom.height {
		return corruptf("%d nodes below the base, want its %d ancestors", below, t.base.height-t.bottom.height)
	}
	// In height order, so that a node's parent is classified before it.
	for _, n := range t.Nodes() {
		if n.height < t.base.height {
			continue
		}
		if _, ok := fromBase[n.parent]; n != t.base && !ok {
			return corruptf("node %s does not descend from the base", n.hash)
		}
		fromBase[n] = struct{}{}
	}
	return nil
}
