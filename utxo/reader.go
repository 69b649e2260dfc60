package utxo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Reader answers queries from a store or a snapshot of one: the flushed
// state only. The command-line queries and (later) the RPC server read
// through it; a snapshot gives them a view no concurrent flush can change.
type Reader struct {
	kv KVReader
}

// NewReader returns a Reader over kv.
func NewReader(kv KVReader) *Reader { return &Reader{kv: kv} }

// State returns the consistency marker: network, tip and base. It wraps
// ErrNotFound for a store nothing was ever flushed to, and ErrLoadIncomplete
// for one holding part of a snapshot (nothing should be answered from it).
func (r *Reader) State() (*State, error) {
	if ld, err := readLoadState(r.kv); err != nil {
		return nil, err
	} else if ld != nil {
		return nil, ld.incomplete()
	}
	raw, err := r.kv.Get(stateKey())
	if err != nil {
		return nil, err
	}
	return decodeState(raw)
}

// Coin returns the unspent coin at op, or an error wrapping ErrNotFound.
func (r *Reader) Coin(op Outpoint) (Coin, error) {
	raw, err := r.kv.Get(appendCoinKey(nil, &op))
	if err != nil {
		return Coin{}, err
	}
	return DecodeCoin(raw)
}

// BlockRecord returns the record of the block at height.
func (r *Reader) BlockRecord(height int32) (*BlockRecord, error) {
	raw, err := r.kv.Get(heightKey(tagBlock, height))
	if err != nil {
		return nil, err
	}
	return decodeBlockRecord(height, raw)
}

// Header returns the header of the block at height.
func (r *Reader) Header(height int32) (*wire.BlockHeader, error) {
	raw, err := r.kv.Get(heightKey(tagHeader, height))
	if err != nil {
		return nil, err
	}
	return decodeHeader(raw)
}

// HeightOf returns the height of the block with the given hash, if it is on
// the connected chain.
func (r *Reader) HeightOf(hash chainhash.Hash) (int32, error) {
	raw, err := r.kv.Get(hashHeightKey(&hash))
	if err != nil {
		return 0, err
	}
	if len(raw) != 4 {
		return 0, malformedf("hash-height value of %d bytes", len(raw))
	}
	return int32(binary.BigEndian.Uint32(raw)), nil
}

// ScriptHashStats returns the counters of a script hash (zero if it never
// received anything).
func (r *Reader) ScriptHashStats(sh [32]byte) (AddrStats, error) {
	raw, err := r.kv.Get(addrStatsKey(&sh))
	if errors.Is(err, ErrNotFound) {
		return AddrStats{}, nil
	}
	if err != nil {
		return AddrStats{}, err
	}
	return decodeAddrStats(raw)
}

// AddrUTXO is one unspent output of a script hash.
type AddrUTXO struct {
	Outpoint Outpoint
	Value    int64
	Height   int32
	Coinbase bool
}

// ScriptHashUnspent lists up to limit unspent outputs of a script hash, in
// (txid, vout) order, starting after the outpoint `after` (nil: from the
// start). next is the cursor for the following page, nil when done.
func (r *Reader) ScriptHashUnspent(sh [32]byte, after *Outpoint, limit int) (utxos []AddrUTXO, next *Outpoint, err error) {
	if limit <= 0 {
		return nil, nil, fmt.Errorf("utxo: page limit must be positive")
	}
	pfx := append(prefix(tagAddrUTXO), sh[:]...)
	var start []byte
	if after != nil {
		// The smallest key after `after` is its own key with a zero byte
		// appended.
		start = append(appendAddrUTXOKey(nil, &sh, after), 0)
	}
	it := r.kv.Iterate(pfx, start)
	defer it.Release()
	for it.Next() {
		if len(utxos) == limit {
			last := utxos[len(utxos)-1].Outpoint
			return utxos, &last, nil
		}
		k, err := ParseKey(it.Key())
		if err != nil {
			return nil, nil, err
		}
		if !bytes.Equal(k.ScriptHash[:], sh[:]) {
			break
		}
		u := AddrUTXO{Outpoint: k.Outpoint}
		d := decoder{b: it.Value()}
		code := d.vlq()
		amt := d.vlq()
		if d.err != nil || len(d.b) != 0 {
			return nil, nil, malformedf("scripthash index value for %s", k.Outpoint)
		}
		if u.Height, u.Coinbase, err = splitHeightCode(code); err != nil {
			return nil, nil, err
		}
		if u.Value, err = decompressAmount(amt); err != nil {
			return nil, nil, err
		}
		utxos = append(utxos, u)
	}
	return utxos, nil, it.Err()
}

// BlockRecordDelta returns what the block at height changed: its totals
// minus those of the block before (Core's block_info). For the base block
// of a seeded store it is the base's totals.
func (r *Reader) BlockRecordDelta(height int32) (SetTotals, error) {
	cur, err := r.BlockRecord(height)
	if err != nil {
		return SetTotals{}, err
	}
	prev := &BlockRecord{}
	if height > 0 {
		if p, err := r.BlockRecord(height - 1); err == nil {
			prev = p
		} else if !errors.Is(err, ErrNotFound) {
			return SetTotals{}, err
		}
	}
	a, b := &cur.Totals, &prev.Totals
	return SetTotals{
		TxOuts: a.TxOuts - b.TxOuts, BogoSize: a.BogoSize - b.BogoSize,
		TotalAmount: a.TotalAmount - b.TotalAmount, TotalSubsidy: a.TotalSubsidy - b.TotalSubsidy,
		TotalUnspendable:          a.TotalUnspendable - b.TotalUnspendable,
		TotalPrevoutSpent:         a.TotalPrevoutSpent - b.TotalPrevoutSpent,
		TotalNewOutputsExCoinbase: a.TotalNewOutputsExCoinbase - b.TotalNewOutputsExCoinbase,
		TotalCoinbase:             a.TotalCoinbase - b.TotalCoinbase,
		UnspendableGenesis:        a.UnspendableGenesis - b.UnspendableGenesis,
		UnspendableBIP30:          a.UnspendableBIP30 - b.UnspendableBIP30,
		UnspendableScripts:        a.UnspendableScripts - b.UnspendableScripts,
		UnspendableUnclaimed:      a.UnspendableUnclaimed - b.UnspendableUnclaimed,
	}, nil
}

// ContentDigest hashes every key and value of a store in key order, with the
// number of keys. Two stores with the same digest hold the same bytes; it is
// how the determinism and crash tests compare stores, and how an operator
// can compare two nodes' databases.
func ContentDigest(kv KVReader) (digest [32]byte, keys int, err error) {
	h := sha256.New()
	it := kv.Iterate(nil, nil)
	defer it.Release()
	var lb [binary.MaxVarintLen64]byte
	for it.Next() {
		k, v := it.Key(), it.Value()
		h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(k)))])
		h.Write(k)
		h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(v)))])
		h.Write(v)
		keys++
	}
	if err := it.Err(); err != nil {
		return digest, 0, err
	}
	h.Sum(digest[:0])
	return digest, keys, nil
}

// BlockTimes calls fn with the timestamp of every block at or below upTo
// whose time the store knows, in height order: first the times seeded with
// a snapshot (below its base), then the stored headers'. A state-sync
// snapshot carries them so that the store it starts keeps counting coin
// ages (SeedBase.Times).
func (r *Reader) BlockTimes(upTo int32, fn func(height int32, t uint32) error) error {
	for _, tag := range []byte{tagTime, tagHeader} {
		it := r.kv.Iterate(prefix(tag), nil)
		for it.Next() {
			k, v := it.Key(), it.Value()
			if len(k) != 6 {
				continue
			}
			h := int32(binary.BigEndian.Uint32(k[2:]))
			if h > upTo || h < 0 {
				break
			}
			var t uint32
			switch {
			case tag == tagTime && len(v) == 4:
				t = binary.BigEndian.Uint32(v)
			case tag == tagHeader && len(v) == 80:
				t = binary.LittleEndian.Uint32(v[68:72])
			default:
				it.Release()
				return fmt.Errorf("%w: %s record of height %d is %d bytes", ErrCorrupt, tableNames[tag], h, len(v))
			}
			if err := fn(h, t); err != nil {
				it.Release()
				return err
			}
		}
		err := it.Err()
		it.Release()
		if err != nil {
			return err
		}
	}
	return nil
}
