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

// Batch collects writes that a Store applies atomically.
type Batch interface {
	Put(key, value []byte)
	Delete(key []byte)
	Len() int
}

// Store is a key-value store the engine owns.
type Store interface {
	KVReader
	// NewBatch returns an empty batch. sizeHint estimates the bytes of keys
	// and values it will hold (plus a few per entry), so an implementation
	// can allocate once: a flush after a large import is a single batch of
	// gigabytes, and growing it step by step would copy it many times.
	NewBatch(sizeHint int) Batch
	// Write applies the batch atomically: after a crash at any instant,
	// either all of it or none of it is visible. With sync, it returns only
	// once the batch is durable.
	Write(b Batch, sync bool) error
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
