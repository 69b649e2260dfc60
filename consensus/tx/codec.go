package tx

import (
	"encoding/binary"
)

// reader decodes the canonical encoding. Every method fails instead of
// guessing: short input is CodeMalformed, and a length is checked against
// its limit, and against the bytes actually left, before anything is
// allocated for it.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

// take returns the next n bytes, aliasing the input.
func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || r.remaining() < n {
		return nil, errorf(CodeMalformed, "truncated %s at offset %d: need %d bytes, have %d",
			what, r.off, n, r.remaining())
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) u8(what string) (uint8, error) {
	s, err := r.take(1, what)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (r *reader) u16(what string) (uint16, error) {
	s, err := r.take(2, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(s), nil
}

func (r *reader) u32(what string) (uint32, error) {
	s, err := r.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(s), nil
}

func (r *reader) u64(what string) (uint64, error) {
	s, err := r.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(s), nil
}

// array32 reads a fixed 32-byte field (an address, a key or a hash).
func (r *reader) array32(what string) ([32]byte, error) {
	var a [32]byte
	s, err := r.take(32, what)
	if err != nil {
		return a, err
	}
	copy(a[:], s)
	return a, nil
}

// count reads a uvarint length or item count. It must be minimally encoded
// (else the same value would have several encodings and re-encoding would
// not reproduce the input), at most max (else an error with code overCode),
// and, with elemSize bytes per item, must fit in what is left of the input.
// The last check is what lets callers allocate count items safely.
func (r *reader) count(max uint64, overCode Code, elemSize int, what string) (int, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	switch {
	case n == 0:
		return 0, errorf(CodeMalformed, "truncated %s count at offset %d", what, r.off)
	case n < 0:
		return 0, errorf(CodeMalformed, "%s count at offset %d overflows 64 bits", what, r.off)
	case n > 1 && r.b[r.off+n-1] == 0:
		// A final group of zero bits with a continuation before it
		// adds nothing: the value has a shorter encoding.
		return 0, errorf(CodeMalformed, "non-minimal varint for %s count at offset %d", what, r.off)
	}
	if v > max {
		return 0, errorf(overCode, "%s count %d exceeds the limit %d", what, v, max)
	}
	r.off += n
	// v <= max, and every max is far below 2^31 / elemSize, so neither the
	// conversion nor the product can overflow an int.
	if int(v)*elemSize > r.remaining() {
		return 0, errorf(CodeMalformed, "truncated %s at offset %d: %d items of %d bytes, have %d bytes",
			what, r.off, v, elemSize, r.remaining())
	}
	return int(v), nil
}

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// appendCount writes a length or count; binary.AppendUvarint always writes
// the minimal form, which is the only form count accepts.
func appendCount(b []byte, n int) []byte { return binary.AppendUvarint(b, uint64(n)) }
