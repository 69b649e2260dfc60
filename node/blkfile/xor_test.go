package blkfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

func TestXORKeyApply(t *testing.T) {
	key := xorKey{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	data := make([]byte, 100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for off := int64(0); off < 20; off++ {
		for n := 0; n <= 37; n++ {
			got := bytes.Clone(data[:n])
			key.apply(got, off)
			for i := range got {
				if got[i] != data[i]^key[(off+int64(i))%8] {
					t.Fatalf("off %d len %d byte %d wrong", off, n, i)
				}
			}
			key.apply(got, off)
			if !bytes.Equal(got, data[:n]) {
				t.Fatalf("off %d len %d: not an involution", off, n)
			}
		}
	}
	zero := bytes.Clone(data)
	xorKey{}.apply(zero, 3)
	if !bytes.Equal(zero, data) {
		t.Fatal("zero key changed data")
	}
}

// TestXORRoundTrip writes an obfuscated directory like Core 28+, with raw
// zero padding (Core preallocates without obfuscating), and reads it back:
// as a directory, as a single file, and bzip2-compressed.
func TestXORRoundTrip(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)[:500]
	key := [8]byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04}
	dir, files := writeDir(t, blocks, &WriterOptions{MaxFileSize: 32 << 10, XORKey: key})

	got, err := os.ReadFile(filepath.Join(dir, XORKeyFile))
	if err != nil || !bytes.Equal(got, key[:]) {
		t.Fatalf("xor.dat = %x, %v", got, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(raw) == uint32(wire.MainNet) {
		t.Fatal("file is not obfuscated")
	}
	if binary.LittleEndian.Uint32(raw)^binary.LittleEndian.Uint32(key[:]) != uint32(wire.MainNet) {
		t.Fatal("magic not obfuscated with the key")
	}
	for _, f := range files {
		appendFile(t, f, make([]byte, 1000+len(f)%8)) // raw zeros at varying key phases
	}

	ix, c := scanChain(t, dir)
	if st := ix.Stats(); st.Records != 500 || st.PaddedFiles != len(files) || len(st.Truncated) != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkBlocks(t, readAll(t, c, 0, nil), blocks, 0)

	// A file named on its own still gets its directory's key.
	ix, err = Scan(context.Background(), &chaincfg.MainNetParams, []string{files[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() == 0 || ix.Stats().PaddedFiles != 1 {
		t.Fatalf("single obfuscated file: %+v", ix.Stats())
	}

	// Compressed copies of obfuscated files, with the key beside them.
	bzDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(bzDir, XORKeyFile), key[:], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bzDir, filepath.Base(f)+".bz2"), bz2Compress(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, c = scanChain(t, bzDir)
	checkBlocks(t, readAll(t, c, 0, nil), blocks, 0)

	// Without its key the directory is rejected with a hint.
	if err := os.Remove(filepath.Join(dir, XORKeyFile)); err != nil {
		t.Fatal(err)
	}
	_, err = Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 0 || fe.File != files[0] {
		t.Fatalf("scan without xor.dat: %v", err)
	}

	// A key file of the wrong size is an error, not a guess.
	if err := os.WriteFile(filepath.Join(dir, XORKeyFile), key[:7], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil); !errors.As(err, &fe) {
		t.Fatalf("short xor.dat: %v", err)
	}
}

// An all-zero key is no obfuscation: Core writes one when obfuscation is off.
func TestXORZeroKey(t *testing.T) {
	blocks := fixtureBlocks(t)[:50]
	dir, files := writeDir(t, blocks, nil)
	if err := os.WriteFile(filepath.Join(dir, XORKeyFile), make([]byte, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(raw) != uint32(wire.MainNet) {
		t.Fatal("zero key obfuscated the file")
	}
	_, c := scanChain(t, dir)
	checkBlocks(t, readAll(t, c, 0, nil), blocks, 0)
}
