package utxo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// LoadState is the loading marker of a snapshot load that has not
// finished (see Engine.SeedStream). It is written before the first coin
// and after every update of the load, in an update of its own, so what it
// describes is always on disk (a crash between an update and its marker
// leaves more, which a resume deletes or rewrites identically); the batch
// that writes the tip deletes it. While it exists the store holds a part
// of a UTXO set and no state record: Open refuses the store unless
// Config.ResumeLoad is set, and Reader.State refuses it.
type LoadState struct {
	Network    string
	BaseHeight int32
	BaseHash   chainhash.Hash
	// ExpectedCoins is the coin count the stream announced
	// (SeedOptions.ExpectedCoins), 0 if unknown.
	ExpectedCoins uint64
	// Chunks is the number of chunks flushed.
	Chunks uint64
	// Last is the last coin flushed, in (txid, vout) order. Chunks end at
	// transaction boundaries, so every coin of Last's txid is on disk.
	Last Outpoint
	// Coins, BogoSize and Amount are the totals of the flushed coins.
	Coins    uint64
	BogoSize uint64
	Amount   int64
	// MuHash is the accumulator of the flushed coins, normalized as in
	// the state record.
	MuHash [384]byte
	// Phase is LoadCoins while coins are read from the stream, then
	// LoadIndex while the script-hash index and counters are built from
	// them (the stream is read to its end before the index phase begins).
	Phase LoadPhase
	// IndexGroups counts the script hashes whose index entries and
	// counters are all on disk; IndexLast is the last of them, in byte
	// order, and IndexEntries counts their index entries. Index phase only.
	IndexGroups  uint64
	IndexEntries uint64
	IndexLast    [32]byte
}

// LoadPhase is the step a snapshot load is at.
type LoadPhase byte

// The phases of a load (LoadState.Phase).
const (
	// LoadCoins: coins are read from the stream into the coins table.
	LoadCoins LoadPhase = 1
	// LoadIndex: every coin is on disk, and the script-hash index and
	// counters are being built from them.
	LoadIndex LoadPhase = 2
	// LoadTree: the index is built, and the UTXO tree is being built from
	// the coins (from the start again after an interruption).
	LoadTree LoadPhase = 3
)

func (p LoadPhase) String() string {
	switch p {
	case LoadCoins:
		return "coins"
	case LoadIndex:
		return "index"
	case LoadTree:
		return "tree"
	}
	return fmt.Sprintf("phase(%d)", byte(p))
}

// Loading marker value (key 'm' 01 "load"):
//
//	field     size  encoding
//	magic     4     "SNLD"
//	schema    1     02
//	network   var   VARINT(len) ‖ name
//	base      36    u32be(height) ‖ hash, internal byte order
//	expected  var   VARINT(announced coin count, 0 if unknown)
//	chunks    var   VARINT(chunks flushed)
//	last      36    txid ‖ u32be(vout) of the last coin flushed
//	coins     var   VARINT(coins flushed)
//	bogosize  var   VARINT(Σ bogosize of the flushed coins)
//	amount    var   VARINT(Σ value of the flushed coins)
//	muhash    384   accumulator of the flushed coins, little-endian
//	phase     1     01 coins, 02 index
//	groups    var   VARINT(script hashes indexed)
//	entries   var   VARINT(index entries of those script hashes)
//	last      32    the last script hash indexed (zeros before the first)
//
// Worked example (load_test.go checks it): a regtest load of 1000 coins
// at base 110 (hash 0f0f…0f), after 2 chunks whose last coin is
// 0101…01:3, with 600 P2WPKH coins (bogosize 72 each) worth 3 BTC, and
// for brevity the accumulator of the empty set:
//
//	534e4c44 02                               "SNLD", schema 2
//	07 72656774657374                         network "regtest"
//	0000006e 0f0f…0f                          base height 110, hash (32 bytes)
//	8668                                      expected 1000
//	02                                        chunks 2
//	0101…01 00000003                          last coin: txid (32 bytes), vout 3
//	8358 81d040 808e85c500                    600 coins, bogosize 43200, 300,000,000 sat
//	01 00…00                                  accumulator 1 (384 bytes)
//	01 00 00 00…00                            coins phase, nothing indexed
const loadSchema = 2

var (
	loadMagic = []byte("SNLD")
	loadName  = []byte("load")
)

func loadKey() []byte { return append([]byte{tagMeta, keyVersion}, loadName...) }

func (l *LoadState) encode() []byte {
	b := make([]byte, 0, 5+1+len(l.Network)+36+10+10+36+30+384)
	b = append(b, loadMagic...)
	b = append(b, loadSchema)
	b = putVLQ(b, uint64(len(l.Network)))
	b = append(b, l.Network...)
	b = binary.BigEndian.AppendUint32(b, uint32(l.BaseHeight))
	b = append(b, l.BaseHash[:]...)
	b = putVLQ(b, l.ExpectedCoins)
	b = putVLQ(b, l.Chunks)
	b = append(b, l.Last.Hash[:]...)
	b = binary.BigEndian.AppendUint32(b, l.Last.Index)
	b = putVLQ(b, l.Coins)
	b = putVLQ(b, l.BogoSize)
	b = putVLQ(b, uint64(l.Amount))
	b = append(b, l.MuHash[:]...)
	b = append(b, byte(l.Phase))
	b = putVLQ(b, l.IndexGroups)
	b = putVLQ(b, l.IndexEntries)
	return append(b, l.IndexLast[:]...)
}

func decodeLoadState(b []byte) (*LoadState, error) {
	if len(b) < 5 || !bytes.Equal(b[:4], loadMagic) {
		return nil, malformedf("loading marker: bad magic")
	}
	if b[4] != loadSchema {
		return nil, ErrSchema
	}
	d := decoder{b: b[5:]}
	n := d.vlq()
	if n > 32 {
		return nil, malformedf("loading marker: network name too long")
	}
	l := &LoadState{Network: string(d.bytes(int(n)))}
	base := d.bytes(36)
	l.ExpectedCoins = d.vlq()
	l.Chunks = d.vlq()
	last := d.bytes(36)
	l.Coins = d.vlq()
	l.BogoSize = d.vlq()
	amount := d.vlq()
	mh := d.bytes(384)
	phase := d.bytes(1)
	l.IndexGroups = d.vlq()
	l.IndexEntries = d.vlq()
	last2 := d.bytes(32)
	if d.err != nil {
		return nil, malformedf("loading marker: %v", d.err)
	}
	if len(d.b) != 0 {
		return nil, malformedf("loading marker: trailing bytes")
	}
	l.BaseHeight = int32(binary.BigEndian.Uint32(base))
	copy(l.BaseHash[:], base[4:])
	copy(l.Last.Hash[:], last)
	l.Last.Index = binary.BigEndian.Uint32(last[32:])
	if l.BaseHeight < 0 || amount > MaxMoney {
		return nil, malformedf("loading marker: base height or amount out of range")
	}
	if l.Phase = LoadPhase(phase[0]); l.Phase != LoadCoins && l.Phase != LoadIndex && l.Phase != LoadTree {
		return nil, malformedf("loading marker: unknown phase %d", phase[0])
	}
	copy(l.IndexLast[:], last2)
	l.Amount = int64(amount)
	copy(l.MuHash[:], mh)
	return l, nil
}

// incomplete is the error for a store this marker is found in.
func (l *LoadState) incomplete() error {
	of := ""
	if l.ExpectedCoins > 0 {
		of = fmt.Sprintf(" of %d", l.ExpectedCoins)
	}
	return fmt.Errorf("%w: %d%s coins of the snapshot at height %d (%s) were loaded; "+
		"run `satnode snapshot load` again with the same file to resume, or delete the data directory",
		ErrLoadIncomplete, l.Coins, of, l.BaseHeight, l.BaseHash)
}

// readLoadState returns the loading marker of kv, or nil if there is none.
func readLoadState(kv KVReader) (*LoadState, error) {
	raw, err := kv.Get(loadKey())
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeLoadState(raw)
}

// LoadState returns the loading marker of an interrupted snapshot load,
// or an error wrapping ErrNotFound if the store has none (a store that
// is empty, or whose load completed).
func (r *Reader) LoadState() (*LoadState, error) {
	l, err := readLoadState(r.kv)
	if err == nil && l == nil {
		err = ErrNotFound
	}
	return l, err
}
