package utxo

// The engine keeps everything in an ordered key-value store. It needs only
// point reads, ordered prefix iteration, atomic batches and consistent
// snapshots; utxo/leveldbstore provides them on goleveldb and
// utxo/memstore in memory for tests.

// KVReader is a read view of the store.
type KVReader interface {
	// Get returns the value of key, or an error wrapping ErrNotFound. The
	// returned slice belongs to the caller.
	Get(key []byte) ([]byte, error)
	// Iterate returns an iterator over the keys with the given prefix, in
	// byte order, starting at the first key ≥ start (start nil: the first
	// key of the prefix).
	Iterate(prefix, start []byte) Iterator
}

// Iterator walks keys in order. Key and Value are valid until the next call
// to Next.
type Iterator interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
	Release()
}

// Seeker is an Iterator that can move to the first key ≥ key within its
// range, reporting whether there is one (then Key and Value are valid).
// The UTXO tree's scans use it to walk the leaf table with one iterator.
type Seeker interface {
	Seek(key []byte) bool
}

// Batch collects the writes of one Update.
type Batch interface {
	Put(key, value []byte)
	Delete(key []byte)
	// Len is the number of writes so far.
	Len() int
}

// Store is a key-value store the engine owns.
type Store interface {
	KVReader
	// Update calls fill with a fresh batch and applies everything fill
	// put in it atomically: after a crash at any instant, either all of it
	// or none of it is visible. If fill returns an error, or panics,
	// nothing is written. With sync, Update returns only once the writes
	// are durable.
	//
	// sizeHint bounds from above the bytes of keys and values fill will
	// write (plus a few per entry). A flush after a large import is
	// gigabytes: with the hint an implementation can allocate once, or
	// stream the writes into the database while fill is still producing
	// them, which is why the store, not the caller, owns the batch.
	Update(sizeHint int, sync bool, fill func(Batch) error) error
	// Snapshot returns a consistent read view that later writes do not
	// change.
	Snapshot() (Snapshot, error)
	Close() error
}

// Snapshot is a frozen KVReader; Release frees it.
type Snapshot interface {
	KVReader
	Release()
}
