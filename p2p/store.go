package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// BodyStore keeps verified Bitcoin block bodies, by block hash, for a
// retention window of heights. It is what a Host serves to its peers, so
// only bodies checked against their header may be put in it: the store
// itself does not check them. It is safe for concurrent use.
//
// On-disk format (goleveldb), one key space with one-byte prefixes:
//
//	key                                   value
//	0x00 "version"                        0x01 (the schema version)
//	'b' ‖ hash (32)                       height (u32 BE) ‖ raw block
//	'h' ‖ height (u32 BE) ‖ hash (32)     empty
//
// The hash is chainhash's internal byte order. The 'h' index sorts by height,
// so Prune reads only the entries it deletes. Example, the genesis block:
//
//	62 6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000
//	  → 00000000 0100000000000000…(285 bytes of block)
//	68 00000000 6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000
//	  → (empty)
//
// Put writes both keys in one batch, so a crash leaves both or neither.
type BodyStore struct {
	db        *leveldb.DB
	retention int32

	// mu serialises writers: Put reads the previous height of a hash to
	// drop its index entry, and that read-modify-write must not interleave
	// with another Put or a Prune. Readers go to leveldb directly.
	mu sync.Mutex
}

const (
	storeSchemaVersion = 1
	prefixBody         = 'b'
	prefixHeight       = 'h'
	pruneBatch         = 1024 // deletions per leveldb batch in Prune
)

var versionKey = []byte("\x00version")

// OpenBodyStore opens (creating if needed) the store in dir. Bodies more
// than retention heights below the tip are removed by Prune; retention 0
// keeps them all (but bodies more than MaxBodyLead above the tip are
// removed whatever the retention).
func OpenBodyStore(dir string, retention int32) (*BodyStore, error) {
	if retention < 0 {
		return nil, fmt.Errorf("%w: negative body retention %d", ErrInvalidConfig, retention)
	}
	db, err := leveldb.OpenFile(dir, &opt.Options{})
	if err != nil {
		return nil, fmt.Errorf("p2p: opening body store %s: %w", dir, err)
	}
	v, err := db.Get(versionKey, nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
		err = db.Put(versionKey, []byte{storeSchemaVersion}, &opt.WriteOptions{Sync: true})
	case err == nil && (len(v) != 1 || v[0] != storeSchemaVersion):
		err = fmt.Errorf("p2p: body store %s has schema version %x, this build reads %d", dir, v, storeSchemaVersion)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &BodyStore{db: db, retention: retention}, nil
}

func bodyKey(hash chainhash.Hash) []byte {
	k := make([]byte, 1+chainhash.HashSize)
	k[0] = prefixBody
	copy(k[1:], hash[:])
	return k
}

func heightKey(height int32, hash chainhash.Hash) []byte {
	k := make([]byte, 1+4+chainhash.HashSize)
	k[0] = prefixHeight
	binary.BigEndian.PutUint32(k[1:5], uint32(height))
	copy(k[5:], hash[:])
	return k
}

// Put stores raw as the body of the block hash at height, replacing any
// body stored for hash before. The caller must have verified raw.
func (s *BodyStore) Put(hash chainhash.Hash, height int32, raw []byte) error {
	if height < 0 {
		return fmt.Errorf("p2p: body store: negative height %d for %s", height, hash)
	}
	if len(raw) < minBodySize {
		return fmt.Errorf("p2p: body store: body of %s is only %d bytes", hash, len(raw))
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var b leveldb.Batch
	old, err := s.db.Get(bodyKey(hash), nil)
	switch {
	case err == nil && len(old) >= 4:
		if oldHeight := int32(binary.BigEndian.Uint32(old[:4])); oldHeight != height {
			b.Delete(heightKey(oldHeight, hash))
		}
	case err != nil && !errors.Is(err, leveldb.ErrNotFound):
		return s.wrap("reading", hash, err)
	}
	v := make([]byte, 4+len(raw))
	binary.BigEndian.PutUint32(v[:4], uint32(height))
	copy(v[4:], raw)
	b.Put(bodyKey(hash), v)
	b.Put(heightKey(height, hash), nil)
	if err := s.db.Write(&b, nil); err != nil {
		return s.wrap("writing", hash, err)
	}
	return nil
}

// Get returns the body of hash; ok is false if the store does not hold it.
// The slice is the caller's.
func (s *BodyStore) Get(hash chainhash.Hash) (raw []byte, ok bool, err error) {
	v, err := s.db.Get(bodyKey(hash), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.wrap("reading", hash, err)
	}
	if len(v) < 4 {
		return nil, false, fmt.Errorf("p2p: body store: record of %s is %d bytes", hash, len(v))
	}
	return v[4:], true, nil // goleveldb's Get returns its own copy
}

// Has reports whether the store holds the body of hash. A read error is
// reported as false: the caller would fetch the body again, which is safe.
func (s *BodyStore) Has(hash chainhash.Hash) bool {
	ok, err := s.db.Has(bodyKey(hash), nil)
	return err == nil && ok
}

// Retention is the number of heights below the tip that Prune keeps (0:
// all).
func (s *BodyStore) Retention() int32 { return s.retention }

// MaxBodyLead is how far above the committed canonical tip a body may
// stand and survive Prune: the default max_headers_ahead of the chain's
// genesis, since the node keeps bodies ahead of the tip only for headers
// in its committed tree, which the chain keeps within that distance. A
// body stored higher (by an older build that believed announced heights,
// or by a bug) would otherwise never be pruned.
const MaxBodyLead int32 = 10_000

// Prune removes the bodies whose height is below tipHeight-retention
// (none with retention 0) and those above tipHeight+MaxBodyLead, and
// returns how many it removed. tipHeight must be the committed canonical
// tip, never a height a peer announced: pruning follows it.
func (s *BodyStore) Prune(tipHeight int32) (removed int, err error) {
	if tipHeight < 0 {
		return 0, fmt.Errorf("%w: prune at negative height %d", ErrInvalidConfig, tipHeight)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	// Deletions go in bounded batches so that pruning a long backlog does
	// not build one huge batch in memory. Each batch removes whole
	// records (body and index entry together).
	var b leveldb.Batch
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := s.db.Write(&b, nil); err != nil {
			return err
		}
		removed += b.Len() / 2
		b.Reset()
		return nil
	}
	// The index sorts by height, so each range reads only what it deletes.
	drop := func(r *util.Range) error {
		it := s.db.NewIterator(r, nil)
		defer it.Release()
		for it.Next() {
			k := it.Key()
			if len(k) != 1+4+chainhash.HashSize {
				return fmt.Errorf("p2p: body store: bad index key %x", k)
			}
			var hash chainhash.Hash
			copy(hash[:], k[5:])
			b.Delete(bodyKey(hash))
			b.Delete(append([]byte(nil), k...))
			if b.Len() >= 2*pruneBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return it.Error()
	}
	heightBound := func(h int64) []byte {
		k := make([]byte, 5)
		k[0] = prefixHeight
		binary.BigEndian.PutUint32(k[1:], uint32(h))
		return k
	}
	if cutoff := int64(tipHeight) - int64(s.retention); s.retention > 0 && cutoff > 0 {
		if err := drop(&util.Range{Start: []byte{prefixHeight}, Limit: heightBound(cutoff)}); err != nil {
			return removed, s.wrapErr("pruning", err)
		}
	}
	// Heights are at most 2^31-1, so the end of the 'h' prefix bounds them.
	if above := int64(tipHeight) + int64(MaxBodyLead) + 1; above <= 1<<31-1 {
		if err := drop(&util.Range{Start: heightBound(above), Limit: []byte{prefixHeight + 1}}); err != nil {
			return removed, s.wrapErr("pruning", err)
		}
	}
	if err := flush(); err != nil {
		return removed, s.wrapErr("pruning", err)
	}
	return removed, nil
}

// Close closes the database. Later calls return errors wrapping ErrClosed.
func (s *BodyStore) Close() error {
	err := s.db.Close()
	if errors.Is(err, leveldb.ErrClosed) {
		return nil
	}
	return err
}

func (s *BodyStore) wrap(op string, hash chainhash.Hash, err error) error {
	return s.wrapErr(op+" "+hash.String(), err)
}

func (s *BodyStore) wrapErr(op string, err error) error {
	if errors.Is(err, leveldb.ErrClosed) {
		return fmt.Errorf("%w: body store %s: %w", ErrClosed, op, err)
	}
	return fmt.Errorf("p2p: body store %s: %w", op, err)
}
