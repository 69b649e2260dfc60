package coresnap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/satnode/satnode/utxo"
)

// Body layout, after the header: per txid, in ascending order of its 32
// internal-order bytes,
//
//	txid             32 bytes, internal order
//	n                CompactSize: the txid's number of coins, 1..MAX_SIZE
//	n times:
//	  vout           CompactSize, ascending in VARINT byte order
//	  coin           Core's coin serialization (utxo.DecodeCoreCoin)
//
// Worked example, the first txid of testdata/mainnet/utxo-mainnet-14131.dat
// (offset 51):
//
//	0009e17f0845e519907e1e0eec90df3f9dc2783400a705f556d1e5e182ca464b
//	       txid 4b46ca82…7fe10900 (as shown: reversed)
//	01     one coin
//	00     vout 0
//	9e6f 32 04 ba3f…33de
//	       height 2039 coinbase, 50 BTC, uncompressed P2PK (see
//	       utxo/corecoin.go)
//
// reader_test.go reads these bytes.

// coreMaxSize is Core's MAX_SIZE: ReadCompactSize refuses larger values, so
// no count or vout in a file Core loads exceeds it.
const coreMaxSize = 0x02000000

// readBufSize is the read buffer; it must hold utxo.MaxCoreCoinSize so a
// coin can be decoded from a peeked window.
const readBufSize = 1 << 16

// Reader streams the coins of a snapshot, checking them as Core does (and
// a little more, see doc.go). Memory use is bounded by its buffer and the
// coin being returned, whatever the file size.
type Reader struct {
	br   *bufio.Reader
	meta Meta
	base int32
	off  int64 // bytes consumed

	left     uint64 // coins still to come, per the header
	inGroup  uint64 // coins still to come in the current txid's group
	txid     chainhash.Hash
	haveTxid bool // txid is the current group's
	vout     uint32
	haveVout bool // vout is the last one read in the current group
	index    int64

	err error // sticky: returned by every later call (io.EOF at the end)
}

// NewReader reads and checks the header of a snapshot taken on network
// want. baseHeight is the height of the base block, which the file does
// not carry: the caller knows it from its header chain or a Bitcoin node.
// Coins above it are refused.
func NewReader(r io.Reader, want Network, baseHeight int32) (*Reader, error) {
	if baseHeight < 0 {
		return nil, fmt.Errorf("coresnap: negative base height %d", baseHeight)
	}
	sr := &Reader{br: bufio.NewReaderSize(r, readBufSize), base: baseHeight, index: -1}
	var h [HeaderSize]byte
	// Read field by field, as Core does, so a short or foreign file is
	// refused for the first field that is wrong.
	if err := sr.readFull(h[0:5], field{name: "magic"}); err != nil {
		return nil, err
	}
	if string(h[0:5]) != magic {
		return nil, sr.fail(0, ErrBadMagic, nil, fmt.Errorf("magic bytes %x, want 7574786fff ('utxo' 0xff): not a Core UTXO snapshot, or an old format", h[0:5]))
	}
	if err := sr.readFull(h[5:7], field{name: "version"}); err != nil {
		return nil, err
	}
	if v := binary.LittleEndian.Uint16(h[5:7]); v != Version {
		return nil, sr.fail(5, ErrBadVersion, nil, fmt.Errorf("format version %d, only version %d is supported", v, Version))
	}
	if err := sr.readFull(h[7:11], field{name: "network magic"}); err != nil {
		return nil, err
	}
	sr.meta.Network = Network(binary.BigEndian.Uint32(h[7:11]))
	if sr.meta.Network != want {
		return nil, sr.fail(7, ErrWrongNetwork, nil, fmt.Errorf("the snapshot is for %s, expected %s", sr.meta.Network, want))
	}
	if err := sr.readFull(h[11:43], field{name: "base block hash"}); err != nil {
		return nil, err
	}
	copy(sr.meta.BaseHash[:], h[11:43])
	if err := sr.readFull(h[43:51], field{name: "coin count"}); err != nil {
		return nil, err
	}
	sr.meta.Count = binary.LittleEndian.Uint64(h[43:51])
	sr.left = sr.meta.Count
	sr.index = 0
	return sr, nil
}

// Meta returns what the header says.
func (r *Reader) Meta() Meta { return r.meta }

// BaseHeight returns the base height given to NewReader.
func (r *Reader) BaseHeight() int32 { return r.base }

// Offset returns the number of bytes read so far (for progress reports).
func (r *Reader) Offset() int64 { return r.off }

// CoinsRead returns the number of coins returned so far.
func (r *Reader) CoinsRead() uint64 { return r.meta.Count - r.left }

// Next returns the next coin. After the header's count of coins it checks
// that the file ends there and returns io.EOF. Any other error is final: an
// *Error for a bad file, or a wrapped error of the underlying reader; later
// calls return it again.
func (r *Reader) Next() (utxo.Outpoint, utxo.Coin, error) {
	if r.err != nil {
		return utxo.Outpoint{}, utxo.Coin{}, r.err
	}
	op, c, err := r.next()
	if err != nil {
		r.err = err
		return utxo.Outpoint{}, utxo.Coin{}, err
	}
	return op, c, nil
}

func (r *Reader) next() (utxo.Outpoint, utxo.Coin, error) {
	var op utxo.Outpoint
	if r.left == 0 {
		// Core tries to read one more byte and wants that to fail.
		if _, err := r.br.Peek(1); err == nil {
			return op, utxo.Coin{}, r.fail(r.off, ErrTrailingData, nil,
				fmt.Errorf("bytes left after the %d coins the header announces", r.meta.Count))
		} else if err != io.EOF {
			return op, utxo.Coin{}, r.ioErr(err)
		}
		return op, utxo.Coin{}, io.EOF
	}
	if r.inGroup == 0 {
		if err := r.readGroupHead(); err != nil {
			return op, utxo.Coin{}, err
		}
	}
	start := r.off
	op.Hash = r.txid
	vout, err := r.readCompactSize(field{"vout of a coin", &r.txid})
	if err != nil {
		return op, utxo.Coin{}, err
	}
	if vout > coreMaxSize {
		return op, utxo.Coin{}, r.fail(start, ErrVoutRange, nil,
			fmt.Errorf("vout %d of txid %s is above Core's limit %d", vout, op.Hash, coreMaxSize))
	}
	op.Index = uint32(vout)
	if prev := (utxo.Outpoint{Hash: r.txid, Index: r.vout}); r.haveVout && utxo.CompareCoreOrder(&prev, &op) >= 0 {
		return op, utxo.Coin{}, r.fail(start, ErrOutOfOrder, &op, outOfOrder(&prev, &op))
	}
	c, err := r.readCoin(&op)
	if err != nil {
		return op, utxo.Coin{}, err
	}
	if c.Height > r.base {
		return op, utxo.Coin{}, r.fail(start, ErrBadHeight, &op,
			fmt.Errorf("coin height %d is above the base height %d", c.Height, r.base))
	}
	r.vout, r.haveVout = op.Index, true
	r.inGroup--
	r.left--
	r.index++
	return op, c, nil
}

// readGroupHead reads a txid and its coin count.
func (r *Reader) readGroupHead() error {
	start := r.off
	var txid chainhash.Hash
	if err := r.readFull(txid[:], field{name: "txid"}); err != nil {
		return err
	}
	if r.haveTxid {
		switch c := bytes.Compare(txid[:], r.txid[:]); {
		case c == 0:
			return r.fail(start, ErrOutOfOrder, nil, fmt.Errorf("txid %s has a second group of coins", txid))
		case c < 0:
			return r.fail(start, ErrOutOfOrder, nil, fmt.Errorf("txid %s comes after %s: txids must ascend in internal byte order", txid, r.txid))
		}
	}
	n, err := r.readCompactSize(field{"coin count", &txid})
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		return r.fail(start, ErrEmptyTxid, nil, fmt.Errorf("txid %s has no coins", txid))
	case n > coreMaxSize:
		return r.fail(start, ErrNonCanonical, nil, fmt.Errorf("txid %s claims %d coins, above Core's limit %d", txid, n, coreMaxSize))
	case n > r.left:
		return r.fail(start, ErrCountMismatch, nil,
			fmt.Errorf("txid %s has %d coins but the header's count %d leaves only %d", txid, n, r.meta.Count, r.left))
	}
	r.inGroup = n
	r.txid, r.haveTxid, r.haveVout = txid, true, false
	return nil
}

// readCoin decodes a coin from a peeked window of the buffer, so the
// decoder works on bytes without copying them.
func (r *Reader) readCoin(op *utxo.Outpoint) (utxo.Coin, error) {
	start := r.off
	b, perr := r.br.Peek(utxo.MaxCoreCoinSize)
	if perr != nil && perr != io.EOF && len(b) == 0 {
		return utxo.Coin{}, r.ioErr(perr)
	}
	c, n, err := utxo.DecodeCoreCoin(b)
	if err != nil {
		code := ErrNonCanonical
		switch {
		case errors.Is(err, utxo.ErrCoreTruncated):
			if perr != nil && perr != io.EOF {
				return utxo.Coin{}, r.ioErr(perr)
			}
			return utxo.Coin{}, r.fail(start, ErrTruncated, op,
				fmt.Errorf("the file ends inside the coin after %d bytes (%d of %d coins read)", len(b), r.CoinsRead(), r.meta.Count))
		case errors.Is(err, utxo.ErrCoreHeight):
			code = ErrBadHeight
		case errors.Is(err, utxo.ErrCoreAmount):
			code = ErrAmountRange
		case errors.Is(err, utxo.ErrCorePubKey):
			code = ErrBadPubKey
		case errors.Is(err, utxo.ErrCoreScriptSize):
			code = ErrScriptTooLong
		}
		return utxo.Coin{}, r.fail(start, code, op, err)
	}
	_, _ = r.br.Discard(n) // n bytes are buffered: Discard cannot fail
	r.off += int64(n)
	return c, nil
}

// readCompactSize reads a CompactSize, refusing non-canonical encodings as
// Core's ReadCompactSize does.
func (r *Reader) readCompactSize(what field) (uint64, error) {
	start := r.off
	var b [9]byte
	if err := r.readFull(b[:1], what); err != nil {
		return 0, err
	}
	var v, min uint64
	switch b[0] {
	case 0xfd:
		if err := r.readFull(b[1:3], what); err != nil {
			return 0, err
		}
		v, min = uint64(binary.LittleEndian.Uint16(b[1:3])), 0xfd
	case 0xfe:
		if err := r.readFull(b[1:5], what); err != nil {
			return 0, err
		}
		v, min = uint64(binary.LittleEndian.Uint32(b[1:5])), 0x10000
	case 0xff:
		if err := r.readFull(b[1:9], what); err != nil {
			return 0, err
		}
		v, min = binary.LittleEndian.Uint64(b[1:9]), 0x100000000
	default:
		return uint64(b[0]), nil
	}
	if v < min {
		return 0, r.fail(start, ErrNonCanonical, nil, fmt.Errorf("non-canonical CompactSize %d for the %s", v, what))
	}
	return v, nil
}

// readFull reads len(b) bytes; running out is ErrTruncated, naming what
// was being read.
func (r *Reader) readFull(b []byte, what field) error {
	start := r.off
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	switch {
	case err == nil:
		return nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		where := "header"
		if r.index >= 0 {
			where = fmt.Sprintf("body, %d of %d coins read", r.CoinsRead(), r.meta.Count)
		}
		if n == 0 {
			return r.fail(start, ErrTruncated, nil, fmt.Errorf("the file ends where the %s should start (%s)", what, where))
		}
		return r.fail(start, ErrTruncated, nil, fmt.Errorf("the file ends inside the %s (%d of %d bytes; %s)", what, n, len(b), where))
	default:
		return r.ioErr(err)
	}
}

// fail builds an *Error at offset off for the coin being read.
func (r *Reader) fail(off int64, code ErrorCode, op *utxo.Outpoint, cause error) error {
	e := &Error{Code: code, Offset: off, Coin: r.index, Description: cause.Error(), Err: cause}
	if op != nil {
		o := *op
		e.Outpoint = &o
	}
	return e
}

func (r *Reader) ioErr(err error) error {
	return fmt.Errorf("coresnap: reading at byte %d: %w", r.off, err)
}

// field names what is being read, for error messages; the txid is only
// formatted when a message is built, not for every coin.
type field struct {
	name string
	txid *chainhash.Hash
}

func (f field) String() string {
	if f.txid == nil {
		return f.name
	}
	return f.name + " of txid " + f.txid.String()
}

func outOfOrder(prev, op *utxo.Outpoint) error {
	if *prev == *op {
		return fmt.Errorf("outpoint %s appears twice", op)
	}
	return fmt.Errorf("vout %d comes after vout %d: vouts must ascend in VARINT byte order (Core's key order)", op.Index, prev.Index)
}
