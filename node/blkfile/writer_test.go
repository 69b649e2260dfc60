package blkfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

func TestWriterRotation(t *testing.T) {
	blocks := fixtureBlocks(t)[:400]
	const maxSize = 10_000
	dir := filepath.Join(t.TempDir(), "blocks")
	w, err := NewWriter(dir, wire.MainNet, &WriterOptions{MaxFileSize: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	var locs []Location
	for _, b := range blocks {
		loc, err := w.WriteBlock(b)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, loc)
	}
	big := bytes.Repeat([]byte{7}, 3*maxSize) // larger than a file: gets its own
	big = append(bytes.Clone(blocks[1][:80]), big...)
	bigLoc, err := w.WriteBlock(big)
	if err != nil {
		t.Fatal(err)
	}
	if bigLoc.Offset != 0 {
		t.Fatalf("oversized block at offset %d", bigLoc.Offset)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlock(blocks[0]); err == nil {
		t.Fatal("write after Close")
	}

	files := w.Files()
	for i, f := range files {
		if want := filepath.Join(dir, fmt.Sprintf("blk%05d.dat", i)); f != want {
			t.Fatalf("file %d is %s, want %s", i, f, want)
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > maxSize && f != bigLoc.Path {
			t.Fatalf("%s is %d bytes, over %d", f, st.Size(), maxSize)
		}
	}
	// Every location points at the block, framed with the magic.
	for i, loc := range append(locs, bigLoc) {
		data, err := os.ReadFile(loc.Path)
		if err != nil {
			t.Fatal(err)
		}
		want := big
		if i < len(blocks) {
			want = blocks[i]
		}
		if binary.LittleEndian.Uint32(data[loc.Offset:]) != uint32(wire.MainNet) ||
			int(binary.LittleEndian.Uint32(data[loc.Offset+4:])) != len(want) ||
			!bytes.Equal(data[loc.Offset+8:loc.Offset+8+int64(loc.Size)], want) {
			t.Fatalf("block %d not at %+v", i, loc)
		}
	}

	// A second writer into the same directory refuses to overwrite.
	w2, err := NewWriter(dir, wire.MainNet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.WriteBlock(blocks[0]); err == nil {
		t.Fatal("overwrote blk00000.dat")
	}
	w2.Close()
}

func TestWriterMisc(t *testing.T) {
	blocks := fixtureBlocks(t)[:3]
	dir := t.TempDir()
	w, err := NewWriter(dir, wire.TestNet3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, make([]byte, 79), make([]byte, MaxBlockSize+1)} {
		if _, err := w.WriteBlock(bad); err == nil {
			t.Fatalf("block of %d bytes accepted", len(bad))
		}
	}
	var mb wire.MsgBlock
	if err := mb.Deserialize(bytes.NewReader(blocks[2])); err != nil {
		t.Fatal(err)
	}
	loc, err := w.WriteMsgBlock(&mb)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(loc.Path)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(data) != uint32(wire.TestNet3) || !bytes.Equal(data[8:], blocks[2]) {
		t.Fatal("WriteMsgBlock wrote something else")
	}
	// A mainnet scan of a testnet file names the network.
	if _, err := Scan(t.Context(), &chaincfg.MainNetParams, []string{dir}, nil); err == nil {
		t.Fatal("testnet file accepted as mainnet")
	}

	// Keys: a directory has one.
	kdir := t.TempDir()
	w, err = NewWriter(kdir, wire.MainNet, &WriterOptions{XORKey: [8]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := NewWriter(kdir, wire.MainNet, &WriterOptions{XORKey: [8]byte{2}}); err == nil {
		t.Fatal("second key accepted")
	}
	if _, err := NewWriter(kdir, wire.MainNet, nil); err == nil {
		t.Fatal("unkeyed writer accepted into a keyed directory")
	}
	if _, err := NewWriter(kdir, wire.MainNet, &WriterOptions{XORKey: [8]byte{1}}); err != nil {
		t.Fatalf("same key refused: %v", err)
	}
	// No blocks, no files.
	edir := t.TempDir()
	w, err = NewWriter(edir, wire.MainNet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil || len(w.Files()) != 0 {
		t.Fatalf("empty writer: %v %v", err, w.Files())
	}
}
