package blkfile

import (
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// MaxBlockSize is the largest record length accepted. A serialized block
// (witness included) is at most 4,000,000 bytes by the weight limit; anything
// longer in a length field is corruption, not a block.
const MaxBlockSize = wire.MaxBlockPayload

// headerSize is the size of a serialized block header.
const headerSize = wire.MaxBlockHeaderPayload

// prefixSize is the magic + length prefix of each record.
const prefixSize = 8

// Truncation describes a record cut short at the end of a file, as left by a
// Bitcoin Core process killed while writing. It ends that file's data; it is
// reported, not treated as an error.
type Truncation struct {
	File   string
	Offset int64 // offset of the record's magic
	Have   int64 // bytes of the record present, prefix included
	Want   int64 // full record size, prefix included; 0 if the length was not readable
}

func (t Truncation) String() string {
	if t.Want == 0 {
		return fmt.Sprintf("%s: record at offset %d cut short (%d bytes)", t.File, t.Offset, t.Have)
	}
	return fmt.Sprintf("%s: record at offset %d cut short (%d of %d bytes)", t.File, t.Offset, t.Have, t.Want)
}

type frameStatus int

const (
	frameOK        frameStatus = iota // a record prefix was read
	frameEOF                          // clean end of the file
	framePadding                      // zero bytes where a magic belongs: end of data
	frameTruncated                    // a record prefix cut short by the end of the file
)

// framer parses record prefixes from a recordSource.
type framer struct {
	src   recordSource
	file  *blkFile
	magic [4]byte
	buf   [prefixSize]byte
}

func newFramer(src recordSource, f *blkFile, net wire.BitcoinNet) *framer {
	fr := &framer{src: src, file: f}
	binary.LittleEndian.PutUint32(fr.magic[:], uint32(net))
	return fr
}

// next reads the next record prefix, returning the record's offset and the
// block length. With frameTruncated, tr describes the cut record.
func (fr *framer) next() (off int64, length uint32, st frameStatus, tr Truncation, err error) {
	off = fr.src.pos()
	n, err := fr.src.readFull(fr.buf[:])
	switch {
	case err == io.EOF:
		return off, 0, frameEOF, tr, nil
	case err == io.ErrUnexpectedEOF:
		m := min(n, 4)
		if fr.isPadding(fr.buf[:m], off) {
			return off, 0, framePadding, tr, nil
		}
		if string(fr.buf[:m]) != string(fr.magic[:m]) {
			return off, 0, 0, tr, fr.badMagic(off, m)
		}
		return off, 0, frameTruncated, Truncation{File: fr.file.path, Offset: off, Have: int64(n)}, nil
	case err != nil:
		return off, 0, 0, tr, fr.readErr(off, err)
	}
	if string(fr.buf[:4]) != string(fr.magic[:]) {
		if fr.isPadding(fr.buf[:4], off) {
			return off, 0, framePadding, tr, nil
		}
		return off, 0, 0, tr, fr.badMagic(off, 4)
	}
	length = binary.LittleEndian.Uint32(fr.buf[4:])
	if length < headerSize || length > MaxBlockSize {
		return off, 0, 0, tr, &FormatError{File: fr.file.path, Offset: off,
			Reason: fmt.Sprintf("record length %d is impossible for a block (must be %d..%d)", length, headerSize, MaxBlockSize)}
	}
	return off, length, frameOK, tr, nil
}

// isPadding reports whether b, read at file offset off, is Core's zero
// preallocation. Core allocates file space with raw zeros that never pass
// through its obfuscation, so in an obfuscated file padding decodes to the
// key bytes; accept both forms.
func (fr *framer) isPadding(b []byte, off int64) bool {
	zero, rawZero := true, true
	for i, c := range b {
		zero = zero && c == 0
		rawZero = rawZero && c == fr.file.key[(off+int64(i))&7]
	}
	return zero || rawZero
}

func (fr *framer) badMagic(off int64, n int) error {
	got := fr.buf[:n]
	reason := fmt.Sprintf("bad magic %x, want %x", got, fr.magic)
	if n == 4 {
		if name := netName(wire.BitcoinNet(binary.LittleEndian.Uint32(got))); name != "" {
			reason += fmt.Sprintf(" (this is a %s file)", name)
		} else if fr.file.key.isZero() && off == 0 {
			reason += " (not a blk file, or an obfuscated one without its xor.dat?)"
		}
	}
	return &FormatError{File: fr.file.path, Offset: off, Reason: reason}
}

// readErr classifies a read error: corrupt compressed data is a format
// problem of the file, anything else is an I/O error.
func (fr *framer) readErr(off int64, err error) error {
	return classifyReadErr(fr.file, off, err)
}

func classifyReadErr(f *blkFile, off int64, err error) error {
	var se bzip2.StructuralError
	if errors.As(err, &se) || errors.Is(err, errCompressedTruncated) {
		return &FormatError{File: f.path, Offset: off, Reason: "corrupt bzip2 data", Err: err}
	}
	return fmt.Errorf("blkfile: reading %s at offset %d: %w", f.path, off, err)
}

// netName names a known network by its magic, for error messages.
func netName(net wire.BitcoinNet) string {
	for _, p := range []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params,
		&chaincfg.RegressionNetParams, &chaincfg.SigNetParams, &chaincfg.SimNetParams} {
		if p.Net == net {
			return p.Name
		}
	}
	return ""
}
