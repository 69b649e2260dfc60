package btcheaders

import (
	"crypto/sha256"
	"fmt"
	"slices"
)

// numBuckets is the width of Root's bottom level: bucket i holds the nodes
// whose hash (internal byte order) starts with the 12 bits i. The header hash
// is already a hash, so it needs no second one to spread the nodes. 4096
// buckets keep a bucket to about 25 nodes at 100,000 headers, so a block
// that adds or prunes a few headers rehashes a few kilobytes of buckets.
//
// Package staking hashes its 4096 bucket hashes (128 KiB) into the root
// directly; here a middle level of numGroups groups of groupSize bucket
// hashes (2 KiB each) sits between, so that a block which touches a few
// buckets hashes about 2 KiB per bucket plus 2 KiB at the top instead of
// 128 KiB, which would cost more than the old full pass on small trees.
const (
	numBuckets = 4096
	groupSize  = 64
	numGroups  = numBuckets / groupSize
)

// rootDomain separates Root from every other digest; v2 is the bucketed
// layout (v1 hashed every node in one pass).
const rootDomain = "satnode/btcheaders/root/v2"

// emptyBucketHash is the hash of a bucket without nodes: SHA-256 of
// nothing; emptyGroupHash that of a group of empty buckets.
var (
	emptyBucketHash = sha256.Sum256(nil)
	emptyGroupHash  = func() [32]byte {
		h := sha256.New()
		for range groupSize {
			h.Write(emptyBucketHash[:])
		}
		var out [32]byte
		h.Sum(out[:0])
		return out
	}()
)

// rootState keeps the nodes by bucket, in key order within a bucket, and the
// bucket hashes, so that Root rehashes only what changed. A node's key and
// value never change while it is in the tree (its header and seq are fixed
// when it is added), so only entering and leaving the tree dirty a bucket.
type rootState struct {
	buckets [numBuckets]rootBucket
	dirty   []uint16 // buckets to rehash, each listed once
	groups  [numGroups]rootGroup
	// root is the last result and meta the meta record it covered; it is
	// reused while no bucket is dirty and the meta record is unchanged.
	root    [32]byte
	meta    [metaValueLen]byte
	valid   bool
	scratch []byte
}

type rootGroup struct {
	hash  [32]byte
	dirty bool
}

type rootBucket struct {
	nodes []*Node // in (height, hash) order, the order of the stored keys
	hash  [32]byte
	dirty bool
}

func (r *rootState) init() {
	for i := range r.buckets {
		r.buckets[i].hash = emptyBucketHash
	}
	for i := range r.groups {
		r.groups[i].hash = emptyGroupHash
	}
}

func bucketOf(n *Node) int { return int(n.hash[0])<<4 | int(n.hash[1]>>4) }

func (r *rootState) touch(i int) {
	r.valid = false
	if b := &r.buckets[i]; !b.dirty {
		b.dirty = true
		r.dirty = append(r.dirty, uint16(i))
	}
}

// add enters a node that just joined the tree.
func (r *rootState) add(n *Node) {
	i := bucketOf(n)
	b := &r.buckets[i]
	// Headers mostly arrive in height order and Load reads in key order, so
	// this is nearly always an append.
	j, found := slices.BinarySearchFunc(b.nodes, n, compareHeightHash)
	if found {
		panic(fmt.Sprintf("btcheaders: node %s entered the root twice", n.hash))
	}
	b.nodes = slices.Insert(b.nodes, j, n)
	r.touch(i)
}

// remove takes out a node that left the tree.
func (r *rootState) remove(n *Node) {
	i := bucketOf(n)
	b := &r.buckets[i]
	j, found := slices.BinarySearchFunc(b.nodes, n, compareHeightHash)
	if !found || b.nodes[j] != n {
		panic(fmt.Sprintf("btcheaders: pruned node %s is not in the root", n.hash))
	}
	b.nodes = slices.Delete(b.nodes, j, j+1) // clears the freed slot for the GC
	r.touch(i)
}

// sum returns the digest doc.go describes under "Root", rehashing the dirty
// buckets and their groups first:
//
//	SHA-256(rootDomain ‖ meta ‖ G(0) ‖ … ‖ G(63))
//	G(g) = SHA-256(H(bucket 64g) ‖ … ‖ H(bucket 64g+63))
//	H(bucket) = SHA-256 over its nodes in key order of key body ‖ value
func (r *rootState) sum(meta []byte) [32]byte {
	for _, i := range r.dirty {
		b := &r.buckets[i]
		buf := r.scratch[:0]
		for _, n := range b.nodes {
			buf = appendNodeKeyBody(buf, n)
			buf = appendNodeValue(buf, n)
		}
		b.hash = sha256.Sum256(buf)
		b.dirty = false
		r.groups[i/groupSize].dirty = true
		r.scratch = buf[:0]
	}
	r.dirty = r.dirty[:0]
	for g := range r.groups {
		if !r.groups[g].dirty {
			continue
		}
		buf := r.scratch[:0]
		for i := g * groupSize; i < (g+1)*groupSize; i++ {
			buf = append(buf, r.buckets[i].hash[:]...)
		}
		r.groups[g].hash = sha256.Sum256(buf)
		r.groups[g].dirty = false
		r.scratch = buf[:0]
	}
	if r.valid && string(r.meta[:]) == string(meta) {
		return r.root
	}
	buf := append(r.scratch[:0], rootDomain...)
	buf = append(buf, meta...)
	for g := range r.groups {
		buf = append(buf, r.groups[g].hash[:]...)
	}
	r.root = sha256.Sum256(buf)
	r.scratch = buf[:0]
	copy(r.meta[:], meta)
	r.valid = true
	return r.root
}

// Root returns a digest of the tree's contents: the meta record and every
// node's key body and value, as stored (doc.go gives the layout). Two trees
// have the same Root exactly when Load would rebuild them identically,
// however they got there. It costs a hash of each bucket holding a node
// added or pruned since the last call (about 25 nodes of 124 bytes each at
// 100,000 headers), 2 KiB for each group above such a bucket, and 2 KiB for
// the top level when anything changed: not the size of the tree.
func (t *Tree) Root() [32]byte {
	return t.root.sum(t.metaValue())
}
