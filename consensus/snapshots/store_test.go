package snapshots

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteListRead: a stream is cut into chunks of the size asked for,
// each hashed; the snapshot appears only once committed, lists newest
// first with its chunk count and sha256(metadata), reads back byte for
// byte, and Prune keeps the newest.
func TestWriteListRead(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stream := bytes.Repeat([]byte("0123456789abcdef"), 200) // 3,200 bytes
	for _, h := range []uint64{10, 30, 20} {
		w, err := s.Create(h, 1, MinChunkBytes)
		if err != nil {
			t.Fatal(err)
		}
		// Written in odd pieces, so chunk boundaries fall inside writes.
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 333)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		list, _ := s.List()
		for _, l := range list {
			if l.Height == h {
				t.Fatalf("snapshot %d listed before commit", h)
			}
		}
		info, err := w.Commit(func(hashes [][32]byte, total int64) ([]byte, error) {
			if len(hashes) != 4 || total != int64(len(stream)) {
				t.Fatalf("%d hashes, %d bytes", len(hashes), total)
			}
			for i, hh := range hashes {
				if hh != sha256.Sum256(stream[i*MinChunkBytes:min((i+1)*MinChunkBytes, len(stream))]) {
					t.Fatalf("hash %d", i)
				}
			}
			return []byte{byte(h)}, nil
		})
		if err != nil || info.Chunks != 4 || info.Hash != sha256.Sum256([]byte{byte(h)}) {
			t.Fatalf("commit: %+v %v", info, err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 3 || list[0].Height != 30 || list[2].Height != 10 || list[1].Chunks != 4 {
		t.Fatalf("list %+v %v", list, err)
	}
	var back []byte
	for i := uint32(0); i < 4; i++ {
		c, err := s.Chunk(20, 1, i)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, c...)
	}
	if !bytes.Equal(back, stream) {
		t.Fatal("chunks do not read back as the stream")
	}
	if _, err := s.Chunk(20, 1, 4); !errors.Is(err, ErrNotFound) {
		t.Fatalf("chunk past the end: %v", err)
	}
	if _, err := s.Chunk(20, 2, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another format: %v", err)
	}
	if err := s.Prune(2); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(); len(list) != 2 || list[1].Height != 20 {
		t.Fatalf("after prune: %+v", list)
	}
	if _, err := s.Create(1, 1, MinChunkBytes-1); !errors.Is(err, ErrBadChunkSize) {
		t.Fatalf("tiny chunks: %v", err)
	}
}

// TestUnfinishedRemoved: a writer interrupted before Commit (a killed
// process) leaves a .tmp directory, never listed, that Open removes; an
// aborted one leaves nothing.
func TestUnfinishedRemoved(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	w, err := s.Create(5, 1, MinChunkBytes)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 3000))
	if list, _ := s.List(); len(list) != 0 {
		t.Fatalf("an unfinished snapshot is listed: %+v", list)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "5-1.tmp")); !os.IsNotExist(err) {
		t.Fatalf("Open left the unfinished snapshot: %v", err)
	}
	w2, _ := s.Create(6, 1, MinChunkBytes)
	w2.Write([]byte("x"))
	w2.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %d entries", len(ents))
	}
}
