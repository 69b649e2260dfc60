// Package memstore is an in-memory utxo.Store for tests: a map guarded by
// a lock, sorted on iteration. It is not meant to be fast or large, and it
// keeps nothing across processes.
package memstore

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/satnode/satnode/utxo"
)

// Store is an in-memory utxo.Store.
type Store struct {
	mu         sync.RWMutex
	m          map[string][]byte
	closed     bool
	shortHints int
}

// New returns an empty store.
func New() *Store { return &Store{m: make(map[string][]byte)} }

var errClosed = fmt.Errorf("memstore: closed")

// Get implements utxo.KVReader.
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	return get(s.m, key)
}

func get(m map[string][]byte, key []byte) ([]byte, error) {
	v, ok := m[string(key)]
	if !ok {
		return nil, fmt.Errorf("memstore: key %x: %w", key, utxo.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// Iterate implements utxo.KVReader. It copies the matching entries, so the
// iterator is unaffected by later writes.
func (s *Store) Iterate(prefix, start []byte) utxo.Iterator {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return iterate(s.m, prefix, start)
}

func iterate(m map[string][]byte, prefix, start []byte) utxo.Iterator {
	it := &iterator{pos: -1}
	p := string(prefix)
	for k, v := range m {
		if strings.HasPrefix(k, p) && (start == nil || k >= string(start)) {
			it.keys = append(it.keys, k)
			it.vals = append(it.vals, v)
		}
	}
	idx := make([]int, len(it.keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(it.keys[a], it.keys[b]) })
	keys, vals := make([]string, len(idx)), make([][]byte, len(idx))
	for i, j := range idx {
		keys[i], vals[i] = it.keys[j], it.vals[j]
	}
	it.keys, it.vals = keys, vals
	return it
}

type iterator struct {
	keys []string
	vals [][]byte
	pos  int
}

func (it *iterator) Next() bool    { it.pos++; return it.pos < len(it.keys) }
func (it *iterator) Key() []byte   { return []byte(it.keys[it.pos]) }
func (it *iterator) Value() []byte { return it.vals[it.pos] }
func (it *iterator) Err() error    { return nil }

// Seek implements utxo.Seeker.
func (it *iterator) Seek(key []byte) bool {
	it.pos = sort.SearchStrings(it.keys, string(key))
	return it.pos < len(it.keys)
}
func (it *iterator) Release() {}

type op struct {
	key, val []byte
	del      bool
}

type batch struct {
	ops  []op
	hint int
	size int // bytes the way goleveldb counts them: type, two varints, key, value
}

func (b *batch) Put(k, v []byte) {
	b.ops = append(b.ops, op{key: bytes.Clone(k), val: bytes.Clone(v)})
	b.size += 1 + 2*5 + len(k) + len(v)
}

func (b *batch) Delete(k []byte) {
	b.ops = append(b.ops, op{key: bytes.Clone(k), del: true})
	b.size += 1 + 5 + len(k)
}

func (b *batch) Len() int { return len(b.ops) }

// HintTooSmall reports how many updates wrote more bytes than their size
// hint promised: the engine's hints must be upper bounds, or goleveldb's
// quadratic batch growth comes back.
func (s *Store) HintTooSmall() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.shortHints
}

// Update implements utxo.Store; the lock makes the batch atomic to readers.
func (s *Store) Update(sizeHint int, _ bool, fill func(utxo.Batch) error) error {
	mb := &batch{hint: sizeHint}
	if err := fill(mb); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if mb.size > mb.hint {
		s.shortHints++
	}
	for _, o := range mb.ops {
		if o.del {
			delete(s.m, string(o.key))
		} else {
			s.m[string(o.key)] = o.val
		}
	}
	return nil
}

// Snapshot implements utxo.Store by copying the map.
func (s *Store) Snapshot() (utxo.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	c := make(map[string][]byte, len(s.m))
	for k, v := range s.m {
		c[k] = v
	}
	return snapshot{c}, nil
}

type snapshot struct{ m map[string][]byte }

func (s snapshot) Get(key []byte) ([]byte, error)        { return get(s.m, key) }
func (s snapshot) Iterate(p, start []byte) utxo.Iterator { return iterate(s.m, p, start) }
func (s snapshot) Release()                              {}

// Close implements utxo.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
