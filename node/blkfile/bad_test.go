package blkfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
)

func TestBadInputs(t *testing.T) {
	blocks := fixtureBlocks(t)[:10]
	good := &memWriter{}
	for _, b := range blocks {
		good.record(b)
	}
	second := int64(8 + len(blocks[0])) // offset of the second record
	patch := func(off int64, v uint32) []byte {
		d := bytes.Clone(good.buf)
		binary.LittleEndian.PutUint32(d[off:], v)
		return d
	}
	garbage := make([]byte, 5000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}

	tests := []struct {
		name   string
		data   []byte
		bz2    bool
		off    int64  // expected FormatError offset
		reason string // expected in the reason
	}{
		{name: "testnet magic", data: patch(0, 0x0709110b), off: 0, reason: "testnet3"},
		{name: "wrong magic later", data: patch(second, 0x12345678), off: second, reason: "bad magic"},
		{name: "absurd length", data: patch(second+4, 0xffffffff), off: second, reason: "impossible"},
		{name: "length just over the limit", data: patch(4, MaxBlockSize+1), off: 0, reason: "impossible"},
		{name: "length below a header", data: patch(4, 79), off: 0, reason: "impossible"},
		{name: "garbage", data: garbage, off: 0, reason: "bad magic"},
		{name: "garbage after padding-like byte", data: append([]byte{0, 0, 0, 1}, garbage...), off: 0, reason: "bad magic"},
		{name: "partial wrong magic at end", data: append(bytes.Clone(good.buf), 0xf9, 0x00), off: int64(len(good.buf)), reason: "bad magic"},
		{name: "garbage bz2", data: garbage, bz2: true, reason: "corrupt bzip2"},
		{name: "cut bz2", data: bz2Compress(good.buf)[:1000], bz2: true, reason: "corrupt bzip2"},
		{name: "bz2 of garbage", data: bz2Compress(garbage), bz2: true, off: 0, reason: "bad magic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "blk00000.dat"
			if tc.bz2 {
				name += ".bz2"
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{path}, nil)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FormatError", err)
			}
			if fe.File != path || !strings.Contains(fe.Reason, tc.reason) || (!tc.bz2 || tc.off != 0) && fe.Offset != tc.off {
				t.Fatalf("got %v, want %s at offset %d with %q", err, path, tc.off, tc.reason)
			}
		})
	}
}

// TestFileEnds checks the ways a file's data may end that are not errors.
func TestFileEnds(t *testing.T) {
	blocks := fixtureBlocks(t)[:3]
	good := &memWriter{}
	for _, b := range blocks {
		good.record(b)
	}
	n := int64(len(good.buf))
	full := int64(8 + len(blocks[0]))
	tests := []struct {
		name    string
		tail    []byte
		records int
		padded  bool
		cut     *Truncation // File is filled in
	}{
		{name: "clean", records: 3},
		{name: "zero padding", tail: make([]byte, 10000), records: 3, padded: true},
		{name: "short zero padding", tail: []byte{0, 0}, records: 3, padded: true},
		{name: "zero magic then data", tail: append(make([]byte, 4), good.buf...), records: 3, padded: true},
		{name: "cut magic", tail: []byte{0xf9, 0xbe, 0xb4}, records: 3, cut: &Truncation{Offset: n, Have: 3}},
		{name: "cut length", tail: good.buf[:6], records: 3, cut: &Truncation{Offset: n, Have: 6}},
		{name: "cut header", tail: good.buf[:50], records: 3, cut: &Truncation{Offset: n, Have: 50, Want: full}},
		{name: "cut body", tail: good.buf[:full-1], records: 3, cut: &Truncation{Offset: n, Have: full - 1, Want: full}},
	}
	for _, tc := range tests {
		for _, compressed := range []bool{false, true} {
			name := tc.name
			if compressed {
				name += " bz2"
			}
			t.Run(name, func(t *testing.T) {
				data := append(bytes.Clone(good.buf), tc.tail...)
				path := filepath.Join(t.TempDir(), "blk00000.dat")
				if compressed {
					path += ".bz2"
					data = bz2Compress(data)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{path}, nil)
				if err != nil {
					t.Fatal(err)
				}
				st := ix.Stats()
				if st.Records != tc.records || (st.PaddedFiles == 1) != tc.padded {
					t.Fatalf("stats %+v", st)
				}
				var want []Truncation
				if tc.cut != nil {
					c := *tc.cut
					c.File = path
					want = []Truncation{c}
				}
				if len(st.Truncated) != len(want) || len(want) == 1 && st.Truncated[0] != want[0] {
					t.Fatalf("truncated %+v, want %+v", st.Truncated, want)
				}
			})
		}
	}
}

func TestSourceErrors(t *testing.T) {
	ctx := context.Background()
	params := &chaincfg.MainNetParams
	if _, err := Scan(ctx, params, nil, nil); !errors.Is(err, ErrNoBlockFiles) {
		t.Fatalf("no sources: %v", err)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "rev00000.dat"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(ctx, params, []string{empty}, nil); !errors.Is(err, ErrNoBlockFiles) {
		t.Fatalf("dir without blk files: %v", err)
	}
	if _, err := Scan(ctx, params, []string{filepath.Join(empty, "nope")}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing source: %v", err)
	}
	if _, err := Scan(ctx, nil, []string{empty}, nil); err == nil {
		t.Fatal("nil params accepted")
	}

	// An empty blk file is valid and holds nothing: no chain.
	path := filepath.Join(empty, "blk00000.dat")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := Scan(ctx, params, []string{empty}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.BestChain(); !errors.Is(err, ErrNoChain) {
		t.Fatalf("empty file: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Scan(cctx, params, []string{empty}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scan: %v", err)
	}
}

// TestDirectoryOrder checks numeric file order and the order of sources.
func TestDirectoryOrder(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"blk10.dat", "blk9.dat", "blk00002.dat.bz2", "blk00001.dat", "rev00001.dat", "blk3.DAT"} {
		var data []byte
		if strings.HasSuffix(name, ".bz2") {
			data = bz2Compress(nil)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(t.TempDir(), "whatever.bin")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{other, dir, filepath.Join(dir, "blk9.dat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range ix.Files() {
		names = append(names, filepath.Base(f))
	}
	if got, want := strings.Join(names, " "), "whatever.bin blk00001.dat blk00002.dat.bz2 blk9.dat blk10.dat"; got != want {
		t.Fatalf("files %q, want %q", got, want)
	}
}

// TestFileChanged: a file modified after the index pass gives typed errors
// when read, never wrong blocks.
func TestFileChanged(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)[:100]
	dir, files := writeDir(t, blocks, nil)
	_, c := scanChain(t, dir)

	loc, _ := c.Location(50)
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	data[loc.Offset+8+76] ^= 1 // the nonce
	if err := os.WriteFile(files[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := c.Blocks(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s.Next() {
		n++
	}
	var hm *HashMismatchError
	if err := s.Err(); !errors.Is(err, ErrHashMismatch) || !errors.As(err, &hm) || hm.Height != 50 || n != 50 {
		t.Fatalf("after %d blocks: %v", n, err)
	}
	s.Close()

	data[loc.Offset+1] ^= 1 // the magic
	if err := os.WriteFile(files[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ = c.Blocks(context.Background(), 40, nil)
	for s.Next() {
	}
	var fe *FormatError
	if !errors.As(s.Err(), &fe) || fe.Offset != loc.Offset {
		t.Fatalf("changed magic: %v", s.Err())
	}
	s.Close()

	if err := os.Truncate(files[0], loc.Offset+100); err != nil {
		t.Fatal(err)
	}
	s, _ = c.Blocks(context.Background(), 40, nil)
	for s.Next() {
	}
	if !errors.As(s.Err(), &fe) || !strings.Contains(fe.Reason, "shorter") {
		t.Fatalf("truncated file: %v", s.Err())
	}
	s.Close()
}
