package p2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Announcement says that a peer holds the verified body of a Bitcoin block.
// Hash is not sent: the receiver computes it from Header, so a peer cannot
// announce a header under another block's hash.
type Announcement struct {
	Height int32
	Hash   chainhash.Hash
	Header [80]byte
	Size   uint32 // serialized size of the block in bytes
}

// Announcement wire format, version 1: a fixed 89 bytes.
//
//	offset  size  field
//	0       1     version, 0x01
//	1       4     height, big-endian u32, below 2^31
//	5       80    the block header, as Bitcoin serializes it
//	85      4     block size in bytes, big-endian u32, 81..4,000,000
//
// Worked example, the genesis block (height 0, 285 bytes):
//
//	01                                                                version
//	00000000                                                          height 0
//	01000000 0000000000000000000000000000000000000000000000000000000000000000
//	3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a
//	29ab5f49 ffff001d 1dac2b7c                                        header
//	0000011d                                                          size 285
//
// A decoder accepts exactly this length and version; anything else is
// rejected, so a future version needs a new byte (and a new topic if old
// nodes must not see it).
const (
	announceVersion = 1
	announceLen     = 1 + 4 + 80 + 4

	// minBodySize: a header, a one-byte transaction count and at least
	// one transaction (the coinbase) cannot take fewer bytes than this.
	minBodySize = 81
)

// MarshalBinary encodes a in the version 1 wire format. a.Hash is not
// encoded.
func (a Announcement) MarshalBinary() ([]byte, error) {
	if a.Height < 0 {
		return nil, fmt.Errorf("%w: negative height %d", ErrBadAnnouncement, a.Height)
	}
	if a.Size < minBodySize || a.Size > wire.MaxBlockPayload {
		return nil, fmt.Errorf("%w: size %d out of range", ErrBadAnnouncement, a.Size)
	}
	b := make([]byte, announceLen)
	b[0] = announceVersion
	binary.BigEndian.PutUint32(b[1:5], uint32(a.Height))
	copy(b[5:85], a.Header[:])
	binary.BigEndian.PutUint32(b[85:89], a.Size)
	return b, nil
}

// DecodeAnnouncement decodes the version 1 wire format and computes Hash
// as the double SHA-256 of the header. Errors wrap ErrBadAnnouncement.
func DecodeAnnouncement(b []byte) (Announcement, error) {
	if len(b) != announceLen {
		return Announcement{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadAnnouncement, len(b), announceLen)
	}
	if b[0] != announceVersion {
		return Announcement{}, fmt.Errorf("%w: version %d", ErrBadAnnouncement, b[0])
	}
	h := binary.BigEndian.Uint32(b[1:5])
	if h > math.MaxInt32 {
		return Announcement{}, fmt.Errorf("%w: height %d above 2^31-1", ErrBadAnnouncement, h)
	}
	a := Announcement{Height: int32(h)}
	copy(a.Header[:], b[5:85])
	a.Size = binary.BigEndian.Uint32(b[85:89])
	if a.Size < minBodySize || a.Size > wire.MaxBlockPayload {
		return Announcement{}, fmt.Errorf("%w: size %d out of range", ErrBadAnnouncement, a.Size)
	}
	a.Hash = chainhash.DoubleHashH(a.Header[:])
	return a, nil
}

// Body protocol ("/satnode/<chain-id>/body/1"), one request per stream:
//
//	request:  32 bytes  block hash, in chainhash's internal byte order
//	                    (the reverse of the hex Bitcoin displays)
//	response: 1 byte    status: 0 found, 1 not found
//	          found only: uvarint body length ‖ body
//
// Each side closes its write half after its message. A length above the
// reader's cap, an unknown status, or bytes after the body are protocol
// violations; the reader stops before allocating an oversized body.
const (
	statusFound    byte = 0
	statusNotFound byte = 1
)

// writeResponse writes a response carrying raw, or "not found" if !found.
func writeResponse(w io.Writer, raw []byte, found bool) error {
	if !found {
		_, err := w.Write([]byte{statusNotFound})
		return err
	}
	var prefix [1 + binary.MaxVarintLen64]byte
	prefix[0] = statusFound
	n := 1 + binary.PutUvarint(prefix[1:], uint64(len(raw)))
	if _, err := w.Write(prefix[:n]); err != nil {
		return err
	}
	_, err := w.Write(raw)
	return err
}

// readResponse reads one response, allowing a body of at most maxBody
// bytes. found is false for a "not found" answer. Protocol violations are
// *violationError; other errors are transport failures (reset, timeout,
// early EOF), which say nothing certain about the peer's honesty.
func readResponse(r io.Reader, maxBody int) (raw []byte, found bool, err error) {
	br := bufio.NewReaderSize(r, 64)
	status, err := br.ReadByte()
	if err != nil {
		return nil, false, fmt.Errorf("reading status: %w", err)
	}
	switch status {
	case statusNotFound:
		if err := expectEOF(br); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	case statusFound:
	default:
		return nil, false, violation("unknown status byte %d", status)
	}
	n, err := readUvarint(br)
	if err != nil {
		return nil, false, err
	}
	// Check before allocating: the prefix is the peer's claim, not a fact.
	if n > uint64(maxBody) {
		return nil, false, violation("body length %d above cap %d", n, maxBody)
	}
	if n < minBodySize {
		return nil, false, violation("body length %d below %d", n, minBodySize)
	}
	raw = make([]byte, n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, false, fmt.Errorf("reading body: %w", err)
	}
	if err := expectEOF(br); err != nil {
		return nil, false, err
	}
	return raw, true, nil
}

// expectEOF checks that the peer sent nothing after its response.
func expectEOF(br *bufio.Reader) error {
	var one [1]byte
	n, err := br.Read(one[:])
	if n > 0 {
		return violation("bytes after the response")
	}
	if err == nil || errors.Is(err, io.EOF) {
		// A Read of 0 bytes with no error does not happen on streams;
		// treat it as the end.
		return nil
	}
	return fmt.Errorf("reading end of response: %w", err)
}

// readUvarint reads a minimally encoded uvarint. Unlike
// binary.ReadUvarint it keeps the peer's faults (overlong or non-minimal
// encodings: violations) apart from the transport's (read errors).
func readUvarint(br io.ByteReader) (uint64, error) {
	var x uint64
	for i := range binary.MaxVarintLen64 {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("reading length: %w", err)
		}
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, violation("body length overflows 64 bits")
		}
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, violation("body length is not minimally encoded")
			}
			return x | uint64(b)<<(7*i), nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, violation("body length overflows 64 bits")
}
