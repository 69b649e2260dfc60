package leveldbstore

import (
	"encoding/binary"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/satnode/satnode/utxo"
)

// A large update flows from fill to the transaction in chunks: fill
// appends records to a chunk, full chunks go to the goroutine that inserts
// them, and emptied chunks come back. Three chunks of 4 MiB keep both
// sides busy; more only costs memory.
const (
	chunkBytes = 4 << 20
	numChunks  = 3
)

// Record kinds in a chunk. A record is kind, uvarint key length, key, and
// for a put uvarint value length and value.
const (
	recPut byte = iota
	recDelete
)

// updateLarge applies fill's writes through a goleveldb transaction. The
// transaction holds goleveldb's write lock until it commits or is
// discarded; reads go on meanwhile and see none of it before the commit.
// It is always durable: goleveldb syncs each table it writes and the
// manifest record that commits them.
func (s *Store) updateLarge(fill func(utxo.Batch) error) error {
	tr, err := s.db.OpenTransaction()
	if err != nil {
		return mapErr(err)
	}
	full, free := make(chan []byte, numChunks), make(chan []byte, numChunks)
	for range numChunks {
		free <- nil // allocated on first use
	}
	inserted := make(chan error, 1)
	go func() { inserted <- insertChunks(tr, full, free) }()
	b := &streamBatch{full: full, free: free, cur: <-free}

	committed, drained := false, false
	drain := func() error {
		drained = true
		close(full)
		return <-inserted
	}
	defer func() {
		// Also when fill panics: stop the inserter, and discard the tables
		// the transaction has written so far.
		if !drained {
			_ = drain()
		}
		if !committed {
			tr.Discard()
		}
	}()
	if err := fill(b); err != nil {
		return err
	}
	if len(b.cur) > 0 {
		full <- b.cur
	}
	if err := drain(); err != nil {
		return fmt.Errorf("leveldbstore: update: %w", mapErr(err))
	}
	if err := tr.Commit(); err != nil {
		return fmt.Errorf("leveldbstore: commit: %w", mapErr(err))
	}
	committed = true
	return nil
}

// insertChunks puts the records of each chunk into tr and hands the chunk
// back. After an error it keeps draining, so the producer never blocks,
// and returns the first error.
func insertChunks(tr *leveldb.Transaction, full <-chan []byte, free chan<- []byte) error {
	var first error
	for c := range full {
		if first == nil {
			first = insertChunk(tr, c)
		}
		free <- c[:0]
	}
	return first
}

func insertChunk(tr *leveldb.Transaction, c []byte) error {
	for len(c) > 0 {
		kind := c[0]
		k, rest, err := field(c[1:])
		if err != nil {
			return err
		}
		if kind == recDelete {
			if err := tr.Delete(k, nil); err != nil {
				return err
			}
			c = rest
			continue
		}
		v, rest, err := field(rest)
		if err != nil {
			return err
		}
		if err := tr.Put(k, v, nil); err != nil {
			return err
		}
		c = rest
	}
	return nil
}

// field splits a uvarint-prefixed field off b.
func field(b []byte) (f, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		// Only this package writes chunks: a bad one is a bug here.
		return nil, nil, fmt.Errorf("leveldbstore: malformed update chunk")
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

// streamBatch is the utxo.Batch of a large update.
type streamBatch struct {
	cur  []byte
	full chan<- []byte
	free <-chan []byte
	n    int
}

func (b *streamBatch) Put(k, v []byte) {
	b.reserve(1 + 2*binary.MaxVarintLen32 + len(k) + len(v))
	b.cur = append(b.cur, recPut)
	b.cur = binary.AppendUvarint(b.cur, uint64(len(k)))
	b.cur = append(b.cur, k...)
	b.cur = binary.AppendUvarint(b.cur, uint64(len(v)))
	b.cur = append(b.cur, v...)
	b.n++
}

func (b *streamBatch) Delete(k []byte) {
	b.reserve(1 + binary.MaxVarintLen32 + len(k))
	b.cur = append(b.cur, recDelete)
	b.cur = binary.AppendUvarint(b.cur, uint64(len(k)))
	b.cur = append(b.cur, k...)
	b.n++
}

func (b *streamBatch) Len() int { return b.n }

// reserve hands the current chunk over when n more bytes would overflow
// it. A record larger than a chunk gets a chunk of its own, grown by
// append.
func (b *streamBatch) reserve(n int) {
	if len(b.cur) > 0 && len(b.cur)+n > chunkBytes {
		b.full <- b.cur
		b.cur = <-b.free
	}
	if b.cur == nil {
		b.cur = make([]byte, 0, chunkBytes)
	}
}
