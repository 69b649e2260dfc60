package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// ErrNoBody is what a BodyProvider returns for a block it does not have
// (yet). The application then waits and asks again: it never guesses.
var ErrNoBody = errors.New("app: block body not available")

// BodyProvider supplies Bitcoin block bodies by hash. The application
// checks every body against the header it names before use, so a provider
// may be any source: files, peers, the node's own Bitcoin node.
type BodyProvider interface {
	// Body returns the serialized block whose header hashes to hash, or an
	// error wrapping ErrNoBody if it is not available now. height is the
	// header's height in the application's tree: a provider that fetches
	// from untrusted peers needs it to check the body's witness commitment
	// (CheckBody) before it keeps or serves the body.
	Body(ctx context.Context, hash chainhash.Hash, height int32) ([]byte, error)
}

// MemBodies is a BodyProvider over blocks held in memory (tests, and
// bodies a node has already fetched). It is safe for concurrent use.
type MemBodies struct {
	mu sync.RWMutex
	m  map[chainhash.Hash][]byte
}

// NewMemBodies returns an empty MemBodies.
func NewMemBodies() *MemBodies { return &MemBodies{m: make(map[chainhash.Hash][]byte)} }

// Add stores a serialized block under its header's hash.
func (b *MemBodies) Add(raw []byte) error {
	if len(raw) < 80 {
		return fmt.Errorf("app: a block is at least 80 bytes, got %d", len(raw))
	}
	h := chainhash.DoubleHashH(raw[:80])
	b.mu.Lock()
	b.m[h] = raw
	b.mu.Unlock()
	return nil
}

// Body implements BodyProvider.
func (b *MemBodies) Body(_ context.Context, hash chainhash.Hash, _ int32) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	raw, ok := b.m[hash]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoBody, hash)
	}
	return raw, nil
}
