package blkfile

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Defaults for ReadOptions.
const (
	DefaultReadAhead = 64 << 20
	DefaultMaxHeld   = 512 << 20
)

// ReadOptions tunes a Stream. The zero value (or nil) gives defaults.
type ReadOptions struct {
	// ReadAhead bounds the bytes of blocks read but not yet taken by the
	// consumer (default 64 MiB). A single block larger than this is still
	// read, alone.
	ReadAhead int64
	// MaxHeld bounds, for .bz2 sources, the bytes of blocks that were
	// decompressed before their turn and must be held in memory (default
	// 512 MiB). Exceeding it fails the stream with a *BufferLimitError.
	MaxHeld int64
}

// Block is one block yielded by a Stream.
type Block struct {
	Height int32
	Hash   chainhash.Hash
	Raw    []byte // the serialized block; owned by the caller
}

type streamItem struct {
	b   Block
	err error
}

// Stream yields a chain's blocks in height order, read ahead by a background
// goroutine. Use it like bufio.Scanner: for s.Next() { s.Block() }, then
// s.Err(). Always Close it. A Stream is not safe for concurrent use.
type Stream struct {
	ctx    context.Context
	cancel context.CancelFunc
	items  chan streamItem
	done   chan struct{} // closed when the reader goroutine has exited

	// Read-ahead accounting: the reader adds a block's size before sending
	// it and waits while the total is over the limit; Next subtracts and
	// pokes freed.
	inflight atomic.Int64
	freed    chan struct{}

	cur    Block
	err    error
	closed bool
}

// Blocks starts reading the chain from height from to the tip. from may be
// Tip+1, giving an empty stream (nothing left to import). Every block is
// checked to hash to its indexed hash.
func (c *Chain) Blocks(ctx context.Context, from int32, opts *ReadOptions) (*Stream, error) {
	tip, _ := c.Tip()
	if from < c.start || from > tip+1 {
		return nil, fmt.Errorf("%w: cannot read from height %d: the chain's blocks span %d..%d",
			ErrHeightRange, from, c.start, tip)
	}
	var o ReadOptions
	if opts != nil {
		o = *opts
	}
	if o.ReadAhead <= 0 {
		o.ReadAhead = DefaultReadAhead
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = DefaultMaxHeld
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		ctx:    sctx,
		cancel: cancel,
		// The byte budget is the real bound; the channel only needs room
		// for many small blocks.
		items: make(chan streamItem, 1024),
		done:  make(chan struct{}),
		freed: make(chan struct{}, 1),
	}
	r := newBlockReader(c, from, o.MaxHeld)
	go s.run(r, from, tip, o.ReadAhead)
	return s, nil
}

func (s *Stream) run(r *blockReader, from, tip int32, readAhead int64) {
	defer close(s.done)
	defer close(s.items)
	defer r.close()
	for h := from; h <= tip; h++ {
		if s.ctx.Err() != nil {
			return
		}
		b, err := r.read(s.ctx, h)
		if err != nil {
			select {
			case s.items <- streamItem{err: err}:
			case <-s.ctx.Done():
			}
			return
		}
		size := int64(len(b.Raw))
		for s.inflight.Load() > 0 && s.inflight.Load()+size > readAhead {
			select {
			case <-s.freed:
			case <-s.ctx.Done():
				return
			}
		}
		s.inflight.Add(size)
		select {
		case s.items <- streamItem{b: b}:
		case <-s.ctx.Done():
			return
		}
	}
}

// Next advances to the next block. It returns false at the tip, on error,
// on cancellation of the context, or after Close; Err tells which.
func (s *Stream) Next() bool {
	if s.closed || s.err != nil {
		return false
	}
	s.cur = Block{}
	select {
	case it, ok := <-s.items:
		if !ok {
			// The reader only stops early on cancellation.
			s.err = s.ctx.Err()
			return false
		}
		if it.err != nil {
			s.err = it.err
			return false
		}
		s.inflight.Add(-int64(len(it.b.Raw)))
		select {
		case s.freed <- struct{}{}:
		default:
		}
		s.cur = it.b
		return true
	case <-s.ctx.Done():
		s.err = s.ctx.Err()
		return false
	}
}

// Block returns the block Next advanced to.
func (s *Stream) Block() Block { return s.cur }

// Err returns the error that ended the stream, or nil if it reached the tip
// (or was closed).
func (s *Stream) Err() error { return s.err }

// Close stops the reader goroutine and waits for it to exit, releasing open
// files. It is safe to call more than once.
func (s *Stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	<-s.done
	s.cur = Block{}
	return nil
}
