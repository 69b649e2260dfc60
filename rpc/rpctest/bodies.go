package rpctest

import (
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Bodies is an in-memory body store standing in for the node's
// p2p.BodyStore: the raw bytes of every block the chain connected, by
// hash, stale branches included (the node keeps the bodies it fetched
// whether or not they stay canonical). Its Get has the store's signature,
// so it is what rpc/core and rpc/esplora read blocks from in tests; Delete
// plays the part of pruning. It is safe for concurrent use.
type Bodies struct {
	mu sync.RWMutex
	m  map[chainhash.Hash][]byte
}

// NewBodies returns an empty store.
func NewBodies() *Bodies { return &Bodies{m: map[chainhash.Hash][]byte{}} }

// Get returns the body of hash; ok is false if the store does not hold it.
// The slice is the caller's, as the real store's is.
func (b *Bodies) Get(hash chainhash.Hash) (raw []byte, ok bool, err error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, ok := b.m[hash]
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// Put keeps raw as the body of hash.
func (b *Bodies) Put(hash chainhash.Hash, raw []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[hash] = append([]byte(nil), raw...)
}

// Delete drops the body of hash, as the node's pruning does below its
// retention window.
func (b *Bodies) Delete(hash chainhash.Hash) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, hash)
}
