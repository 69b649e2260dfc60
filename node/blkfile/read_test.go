package blkfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// TestIndexRead reads blocks by hash, in an order unrelated to the files',
// from plain, obfuscated and compressed sources, and checks the errors for
// an unknown hash, a compressed file not kept in memory, and a file that
// changed after the scan.
func TestIndexRead(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)[:400]
	plainDir, _ := writeDir(t, blocks, &WriterOptions{MaxFileSize: 16 << 10})
	key := [8]byte{1, 2, 3, 4, 5, 6, 7, 0xff}
	xorDir, xorFiles := writeDir(t, blocks, &WriterOptions{MaxFileSize: 16 << 10, XORKey: key})
	for _, f := range xorFiles {
		appendFile(t, f, make([]byte, 100)) // Core's raw zero padding
	}
	// One compressed file of the plain blocks, written with the test
	// encoder so that bzip2 data exists without an external tool.
	var m memWriter
	for _, b := range blocks {
		m.record(b)
	}
	bzPath := filepath.Join(t.TempDir(), "blk00000.dat.bz2")
	if err := os.WriteFile(bzPath, bz2Compress(m.buf), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		sources []string
		opts    *ScanOptions
	}{
		{"plain", []string{plainDir}, nil},
		{"xor", []string{xorDir}, nil},
		{"bz2 kept", []string{bzPath}, &ScanOptions{KeepCompressed: true}},
		// KeepCompressed never holds plain files.
		{"plain with keep", []string{plainDir}, &ScanOptions{KeepCompressed: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := Scan(context.Background(), &chaincfg.MainNetParams, tc.sources, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "plain with keep" && len(ix.held) != 0 {
				t.Fatalf("%d plain blocks held in memory", len(ix.held))
			}
			// Backwards, then concurrently: Read keeps no position.
			for i := len(blocks) - 1; i >= 0; i -= 7 {
				got, err := ix.Read(blockHash(blocks[i]))
				if err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				if !bytes.Equal(got, blocks[i]) {
					t.Fatalf("block %d: bytes differ", i)
				}
				got[0] ^= 0xff // the caller owns the slice
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for w := range 4 {
				wg.Go(func() {
					for i := w; i < len(blocks); i += 4 {
						got, err := ix.Read(blockHash(blocks[i]))
						if err == nil && !bytes.Equal(got, blocks[i]) {
							err = errors.New("bytes differ")
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if _, err := ix.Read(chainhash.Hash{1}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown hash: %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("bz2 not kept", func(t *testing.T) {
		ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{bzPath}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Read(blockHash(blocks[3])); !errors.Is(err, ErrNotSeekable) {
			t.Fatalf("got %v, want ErrNotSeekable", err)
		}
	})

	t.Run("file changed", func(t *testing.T) {
		dir, files := writeDir(t, blocks[:50], nil)
		ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := ix.Lookup(blockHash(blocks[10]))
		data[loc.Offset+8+76] ^= 1 // the header's nonce
		if err := os.WriteFile(files[0], data, 0o644); err != nil {
			t.Fatal(err)
		}
		var hm *HashMismatchError
		if _, err := ix.Read(blockHash(blocks[10])); !errors.As(err, &hm) || !errors.Is(err, ErrHashMismatch) {
			t.Fatalf("got %v, want a *HashMismatchError", err)
		}
		if err := os.Truncate(files[0], loc.Offset+20); err != nil {
			t.Fatal(err)
		}
		var fe *FormatError
		if _, err := ix.Read(blockHash(blocks[10])); !errors.As(err, &fe) {
			t.Fatalf("truncated file: got %v, want a *FormatError", err)
		}
		if err := os.Remove(files[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Read(blockHash(blocks[10])); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("removed file: got %v", err)
		}
	})
}
