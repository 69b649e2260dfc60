package coresnap

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/satnode/satnode/utxo"
)

// Writer writes a snapshot in exactly the bytes Bitcoin Core's dumptxoutset
// writes for the same set and header, so that reading a Core file and
// writing its coins back reproduces it byte for byte.
//
// Coins must come grouped by txid, txids in ascending order of their
// internal bytes; the vouts of one txid may come in any order (they are
// sorted into Core's order, see utxo.CompareCoreOrder). Only one txid's
// coins are buffered, because the file gives a txid's coin count before its
// coins.
type Writer struct {
	bw   *bufio.Writer
	meta Meta
	off  int64 // bytes handed to bw

	txid     chainhash.Hash
	haveTxid bool
	group    []pendingCoin // the current txid's coins
	enc      []byte        // their encodings, concatenated
	flushed  uint64        // coins of earlier txids, already written
	scratch  []byte

	err    error // sticky
	closed bool
}

type pendingCoin struct {
	vout       uint32
	start, end int // of the coin's encoding in enc
}

// NewWriter returns a Writer that writes the header for meta, then the
// coins given to Write. meta.Count must be the number of coins that will be
// written: Close checks it. Errors of w are reported by Write or Close.
func NewWriter(w io.Writer, meta Meta) *Writer {
	sw := &Writer{bw: bufio.NewWriterSize(w, 1<<16), meta: meta}
	// The header fits the empty buffer, so this write cannot fail yet.
	hdr := meta.appendHeader(make([]byte, 0, HeaderSize))
	_, _ = sw.bw.Write(hdr)
	sw.off = HeaderSize
	return sw
}

// Write adds a coin. It refuses (with an *Error) what a Reader would
// refuse, except heights above the base, which the file does not record:
// amounts outside 0..21M BTC, negative heights, vouts above Core's MAX_SIZE,
// scripts over 10,000 bytes, a txid lower than the previous one, a
// repeated outpoint, and more coins than meta.Count. An error is final.
func (w *Writer) Write(op utxo.Outpoint, c utxo.Coin) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("coresnap: Write after Close")
	}
	if err := w.write(&op, &c); err != nil {
		w.err = err
		return err
	}
	return nil
}

func (w *Writer) write(op *utxo.Outpoint, c *utxo.Coin) error {
	index := w.flushed + uint64(len(w.group))
	switch {
	case c.Value < 0 || c.Value > utxo.MaxMoney:
		return w.fail(index, ErrAmountRange, op, fmt.Sprintf("amount %d is outside 0..21M BTC", c.Value))
	case c.Height < 0:
		return w.fail(index, ErrBadHeight, op, fmt.Sprintf("negative height %d", c.Height))
	case op.Index > coreMaxSize:
		return w.fail(index, ErrVoutRange, op, fmt.Sprintf("vout %d is above Core's limit %d", op.Index, coreMaxSize))
	case len(c.Script) > 10_000:
		return w.fail(index, ErrScriptTooLong, op, fmt.Sprintf("%d-byte script: Core never holds one over 10,000 bytes", len(c.Script)))
	case index >= w.meta.Count:
		return w.fail(index, ErrCountMismatch, op, fmt.Sprintf("more coins than the header's count %d", w.meta.Count))
	}
	if w.haveTxid {
		switch cmp := bytes.Compare(op.Hash[:], w.txid[:]); {
		case cmp < 0:
			return w.fail(index, ErrOutOfOrder, op, fmt.Sprintf("txid %s comes after %s: txids must ascend in internal byte order", op.Hash, w.txid))
		case cmp > 0:
			if err := w.flushGroup(); err != nil {
				return err
			}
		}
	}
	w.txid, w.haveTxid = op.Hash, true
	start := len(w.enc)
	w.enc = utxo.AppendCoreCoin(w.enc, c)
	w.group = append(w.group, pendingCoin{vout: op.Index, start: start, end: len(w.enc)})
	return nil
}

// flushGroup writes the buffered txid and its coins in Core's vout order.
func (w *Writer) flushGroup() error {
	if len(w.group) == 0 {
		return nil
	}
	slices.SortFunc(w.group, func(a, b pendingCoin) int {
		return utxo.CompareCoreOrder(&utxo.Outpoint{Index: a.vout}, &utxo.Outpoint{Index: b.vout})
	})
	for i := 1; i < len(w.group); i++ {
		if w.group[i].vout == w.group[i-1].vout {
			op := utxo.Outpoint{Hash: w.txid, Index: w.group[i].vout}
			return w.fail(w.flushed+uint64(i), ErrOutOfOrder, &op, fmt.Sprintf("outpoint %s appears twice", op))
		}
	}
	b := append(w.scratch[:0], w.txid[:]...)
	b = utxo.AppendCompactSize(b, uint64(len(w.group)))
	for _, pc := range w.group {
		b = utxo.AppendCompactSize(b, uint64(pc.vout))
		b = append(b, w.enc[pc.start:pc.end]...)
	}
	w.scratch = b
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("coresnap: writing at byte %d: %w", w.off, err)
	}
	w.off += int64(len(b))
	w.flushed += uint64(len(w.group))
	w.group, w.enc = w.group[:0], w.enc[:0]
	return nil
}

// Close writes the last txid's coins, checks that the header's count was
// written, and flushes. It does not close the underlying writer. After an
// error the output is not a valid snapshot.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.flushGroup(); err != nil {
		w.err = err
		return err
	}
	if w.flushed != w.meta.Count {
		w.err = w.fail(w.flushed, ErrCountMismatch, nil,
			fmt.Sprintf("%d coins written, the header says %d", w.flushed, w.meta.Count))
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("coresnap: writing at byte %d: %w", w.off, err)
		return w.err
	}
	return nil
}

func (w *Writer) fail(index uint64, code ErrorCode, op *utxo.Outpoint, desc string) error {
	e := &Error{Code: code, Offset: w.off, Coin: int64(index), Description: desc}
	if op != nil {
		o := *op
		e.Outpoint = &o
	}
	return e
}
