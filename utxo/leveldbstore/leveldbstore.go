// Package leveldbstore is the goleveldb implementation of utxo.Store, the
// one satnode runs on. It tunes goleveldb for the engine's pattern (large
// atomic batches, random point reads that mostly miss in the script-hash and
// BIP30 lookups) and maps its errors onto utxo's sentinels. It holds no
// logic of its own.
package leveldbstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/syndtr/goleveldb/leveldb"
	lverrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/satnode/satnode/utxo"
)

// Options tune the database. Zero values take the defaults.
type Options struct {
	// BlockCacheBytes is goleveldb's block cache. It must hold the bloom
	// filters and index blocks of the tables, or every lookup of a key
	// that is not there reads them from disk. Default 128 MiB.
	BlockCacheBytes int
	// WriteBufferBytes is the memtable size; large batches benefit from a
	// large one. Default 64 MiB.
	WriteBufferBytes int
	// ReadOnly opens the database without write access (the query
	// commands).
	ReadOnly bool
}

// Store is a goleveldb database.
type Store struct {
	db *leveldb.DB
	// writeBuffer is the memtable size: updates that may be larger go
	// through a transaction (see Update).
	writeBuffer int
}

// Open opens or creates the database at path.
func Open(path string, o Options) (*Store, error) {
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = 128 << 20
	}
	if o.WriteBufferBytes == 0 {
		o.WriteBufferBytes = 64 << 20
	}
	if !o.ReadOnly {
		if err := create(path); err != nil {
			return nil, err
		}
	}
	db, err := leveldb.OpenFile(path, &opt.Options{
		// Most lookups of new outputs' script hashes and of BIP30 miss:
		// a bloom filter answers them without reading a block.
		Filter:              filter.NewBloomFilter(10),
		BlockCacheCapacity:  o.BlockCacheBytes,
		WriteBuffer:         o.WriteBufferBytes,
		CompactionTableSize: 8 << 20,
		// Values are compressed coins and hashes: snappy saves about 10% of
		// disk but decompressing a block on every random read cost the
		// importer a third of its time.
		Compression: opt.NoCompression,
		// Keys are hashes: seek-triggered compactions only churn.
		DisableSeeksCompaction: true,
		ReadOnly:               o.ReadOnly,
		ErrorIfMissing:         o.ReadOnly,
	})
	if err != nil {
		if lverrors.IsCorrupted(err) {
			return nil, fmt.Errorf("%w: leveldb at %s: %v", utxo.ErrCorrupt, path, err)
		}
		return nil, fmt.Errorf("leveldbstore: open %s: %w", path, err)
	}
	return &Store{db: db, writeBuffer: o.WriteBufferBytes}, nil
}

// create makes an empty database at path if there is nothing there, so
// that a process killed while goleveldb creates its files never leaves a
// directory without its entry point (CURRENT), which goleveldb then
// refuses as corrupt: the files are made beside it and renamed into
// place.
func create(path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // there, or an error OpenFile will report
	}
	tmp := path + ".creating"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("leveldbstore: create %s: %w", path, err)
	}
	db, err := leveldb.OpenFile(tmp, nil)
	if err != nil {
		return fmt.Errorf("leveldbstore: create %s: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("leveldbstore: create %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("leveldbstore: create %s: %w", path, err)
	}
	return nil
}

func mapErr(err error) error {
	if errors.Is(err, leveldb.ErrNotFound) {
		return utxo.ErrNotFound
	}
	if lverrors.IsCorrupted(err) {
		return fmt.Errorf("%w: %v", utxo.ErrCorrupt, err)
	}
	return err
}

// Get implements utxo.KVReader.
func (s *Store) Get(key []byte) ([]byte, error) {
	v, err := s.db.Get(key, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	return v, nil
}

// Iterate implements utxo.KVReader.
func (s *Store) Iterate(prefix, start []byte) utxo.Iterator {
	return newIter(s.db.NewIterator(rangeOf(prefix, start), nil))
}

func rangeOf(prefix, start []byte) *util.Range {
	r := util.BytesPrefix(prefix)
	if start != nil {
		r.Start = start
	}
	return r
}

type iter struct{ iterator.Iterator }

func newIter(it iterator.Iterator) *iter { return &iter{it} }

func (i *iter) Err() error { return mapErr(i.Iterator.Error()) }

// batch is a small update: a goleveldb batch, written through the journal.
type batch struct{ b *leveldb.Batch }

func (b *batch) Put(k, v []byte) { b.b.Put(k, v) }
func (b *batch) Delete(k []byte) { b.b.Delete(k) }
func (b *batch) Len() int        { return b.b.Len() }

// Update implements utxo.Store.
//
// An update that fits the memtable is a goleveldb batch, written through
// the journal. A larger one (an import's flush is gigabytes) goes through
// a goleveldb transaction instead, fed while fill is still running: fill
// encodes records on its goroutine while another inserts them into the
// transaction's memtable and writes full memtables out as level-0 tables,
// so encoding and inserting overlap instead of following each other, and
// the update is never held in memory whole. Both ways are atomic: the
// journal record or the manifest commit is the single point at which the
// update becomes visible, and a crash before it leaves nothing behind
// (goleveldb deletes unreferenced tables when it opens).
func (s *Store) Update(sizeHint int, sync bool, fill func(utxo.Batch) error) error {
	if sizeHint > s.writeBuffer {
		return s.updateLarge(fill)
	}
	// goleveldb grows a batch by about 3000 records at a time, copying the
	// whole buffer each time; sizing it from the hint avoids that.
	b := &batch{b: leveldb.MakeBatch(max(sizeHint, 0) + 1024)}
	if err := fill(b); err != nil {
		return err
	}
	return mapErr(s.db.Write(b.b, &opt.WriteOptions{Sync: sync}))
}

// Snapshot implements utxo.Store.
func (s *Store) Snapshot() (utxo.Snapshot, error) {
	sn, err := s.db.GetSnapshot()
	if err != nil {
		return nil, mapErr(err)
	}
	return &snap{sn}, nil
}

type snap struct{ s *leveldb.Snapshot }

func (s *snap) Get(key []byte) ([]byte, error) {
	v, err := s.s.Get(key, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	return v, nil
}

func (s *snap) Iterate(prefix, start []byte) utxo.Iterator {
	return newIter(s.s.NewIterator(rangeOf(prefix, start), nil))
}

func (s *snap) Release() { s.s.Release() }

// SizeOnDisk returns the approximate bytes the database's tables occupy.
func (s *Store) SizeOnDisk() (int64, error) {
	sizes, err := s.db.SizeOf([]util.Range{{Start: nil, Limit: nil}})
	if err != nil {
		return 0, err
	}
	return sizes.Sum(), nil
}

// Compact compacts the whole key range (for measuring disk use).
func (s *Store) Compact() error { return s.db.CompactRange(util.Range{}) }

// Close implements utxo.Store.
func (s *Store) Close() error { return s.db.Close() }

// SizesOf returns the approximate bytes the tables hold of each key
// prefix (for measuring where disk goes, table by table).
func (s *Store) SizesOf(prefixes [][]byte) ([]int64, error) {
	ranges := make([]util.Range, len(prefixes))
	for i, p := range prefixes {
		ranges[i] = *util.BytesPrefix(p)
	}
	sizes, err := s.db.SizeOf(ranges)
	if err != nil {
		return nil, mapErr(err)
	}
	return sizes, nil
}
