package blkfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
)

// XORKeyFile is the name of the obfuscation key file Bitcoin Core (28+)
// keeps next to its blk files.
const XORKeyFile = "xor.dat"

// xorKey is Bitcoin Core's block file obfuscation key: byte i of a file (from
// file offset 0) is stored XORed with key[i%8]. The zero key means "not
// obfuscated" and is a no-op.
type xorKey [8]byte

func (k xorKey) isZero() bool { return k == xorKey{} }

// apply XORs p in place, p being the file bytes that start at file offset
// off. XOR is its own inverse, so this both obfuscates and de-obfuscates.
func (k xorKey) apply(p []byte, off int64) {
	if k.isZero() || len(p) == 0 {
		return
	}
	// Rotate the key so that its byte 0 lines up with p[0], then work in
	// 8-byte words: this is on the hot path of reading every block.
	word := binary.LittleEndian.Uint64(k[:])
	word = bits.RotateLeft64(word, -8*int(off&7))
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^word)
	}
	for j := 0; i < len(p); i, j = i+1, j+1 {
		p[i] ^= byte(word >> (8 * j))
	}
}

// readXORKey reads dir/xor.dat. A missing file means no obfuscation.
func readXORKey(dir string) (xorKey, error) {
	var k xorKey
	path := filepath.Join(dir, XORKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return k, fmt.Errorf("blkfile: reading obfuscation key: %w", err)
	}
	if len(b) != len(k) {
		return k, &FormatError{File: path, Reason: fmt.Sprintf("obfuscation key is %d bytes, want %d", len(b), len(k))}
	}
	copy(k[:], b)
	return k, nil
}

// xorReader de-obfuscates a byte stream whose first byte is at stream
// offset off. It is used under bzip2 decompression, where offsets count
// decompressed bytes.
type xorReader struct {
	r   io.Reader
	key xorKey
	off int64
}

func (x *xorReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	x.key.apply(p[:n], x.off)
	x.off += int64(n)
	return n, err
}
