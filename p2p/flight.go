package p2p

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// flights keeps one fetch in flight per hash. Concurrent Fetch calls for
// the same hash (the chain asking for a block while an announcement of it
// is being prefetched, say) wait for that one fetch and share its result,
// so a peer is asked once and a body is verified once.
//
// A flight runs on its own context, under the host's: it is not tied to
// the caller that started it, so that caller giving up does not fail the
// others. It is cancelled when its last waiter gives up, and removed from
// the map when it ends or when its last waiter leaves, whichever is first;
// a caller arriving after that starts a new one (which finds the body in
// the store if the old one succeeded).
type flights struct {
	mu sync.Mutex
	m  map[chainhash.Hash]*flight
}

type flight struct {
	done    chan struct{} // closed when raw and err are set
	raw     []byte
	err     error
	waiters int // callers waiting; guarded by flights.mu
	given   bool
	cancel  context.CancelFunc
}

// join returns the flight of hash, starting it with run if there is none,
// and counts the caller as a waiter; the caller must call leave.
func (fs *flights) join(parent context.Context, hash chainhash.Hash, run func(context.Context) ([]byte, error)) *flight {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = make(map[chainhash.Hash]*flight)
	}
	if f := fs.m[hash]; f != nil {
		f.waiters++
		return f
	}
	ctx, cancel := context.WithCancel(parent)
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	fs.m[hash] = f
	go func() {
		raw, err := run(ctx)
		cancel()
		fs.mu.Lock()
		f.raw, f.err = raw, err
		if fs.m[hash] == f {
			delete(fs.m, hash)
		}
		fs.mu.Unlock()
		close(f.done)
	}()
	return f
}

// leave counts a waiter out; the last one to leave an unfinished flight
// cancels it.
func (fs *flights) leave(hash chainhash.Hash, f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	f.cancel()
	if fs.m[hash] == f {
		delete(fs.m, hash)
	}
}

// result is the flight's outcome for one waiter. The first waiter gets the
// body itself, the others a copy each, so that no caller sees another's
// changes to it.
func (fs *flights) result(f *flight) ([]byte, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if !f.given {
		f.given = true
		return f.raw, nil
	}
	return bytes.Clone(f.raw), nil
}

// inFlight reports how many fetches are in progress, for tests.
func (fs *flights) inFlight() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.m)
}

// wait waits for f or for ctx, and leaves f either way.
func (h *Host) wait(ctx context.Context, hash chainhash.Hash, f *flight) ([]byte, error) {
	defer h.flights.leave(hash, f)
	select {
	case <-f.done:
		return h.flights.result(f)
	case <-ctx.Done():
		return nil, fmt.Errorf("p2p: fetching %s: %w", hash, ctx.Err())
	}
}
