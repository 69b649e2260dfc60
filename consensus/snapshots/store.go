package snapshots

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Errors callers tell apart.
var (
	// ErrNotFound: no such snapshot or chunk.
	ErrNotFound = errors.New("snapshots: not found")
	// ErrBadChunkSize: a chunk size outside MinChunkBytes..MaxChunkBytes.
	ErrBadChunkSize = errors.New("snapshots: bad chunk size")
)

// Chunk sizes a Writer accepts. CometBFT carries a chunk in one p2p
// message of at most 16 MB (statesync's chunkMsgSize), with a little
// framing: MaxChunkBytes stays below it.
const (
	MinChunkBytes = 1 << 10
	MaxChunkBytes = 15 << 20
)

// Info describes a stored snapshot.
type Info struct {
	Height uint64
	Format uint32
	Chunks uint32
	// Hash is sha256(Metadata).
	Hash     [32]byte
	Metadata []byte
}

// Store is a directory of snapshots. Its methods are safe for concurrent
// use by one process: a snapshot is written under a temporary name and
// published by rename, and readers see only published ones.
type Store struct {
	dir string
}

// Open opens (creating it) the store in dir and removes what an
// interrupted writer left.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("snapshots: removing an unfinished snapshot: %w", err)
			}
		}
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func name(height uint64, format uint32) string {
	return strconv.FormatUint(height, 10) + "-" + strconv.FormatUint(uint64(format), 10)
}

// parseName reads "<height>-<format>"; ok is false for anything else.
func parseName(n string) (height uint64, format uint32, ok bool) {
	hs, fs, found := strings.Cut(n, "-")
	if !found {
		return 0, 0, false
	}
	h, err1 := strconv.ParseUint(hs, 10, 64)
	f, err2 := strconv.ParseUint(fs, 10, 32)
	if err1 != nil || err2 != nil || name(h, uint32(f)) != n {
		return 0, 0, false
	}
	return h, uint32(f), true
}

// List returns the published snapshots, newest first. Chunks is the count
// of chunk files, so a snapshot whose files were removed by hand lists
// what it has and peers reject it.
func (s *Store) List() ([]Info, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	var out []Info
	for _, e := range ents {
		h, f, ok := parseName(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		info, err := s.info(h, f)
		if err != nil {
			continue // removed under us by Prune, or damaged: not offered
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int {
		if a.Height != b.Height {
			return cmpDesc(a.Height, b.Height)
		}
		return cmpDesc(uint64(a.Format), uint64(b.Format))
	})
	return out, nil
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// Get returns one published snapshot.
func (s *Store) Get(height uint64, format uint32) (Info, error) {
	return s.info(height, format)
}

func (s *Store) info(height uint64, format uint32) (Info, error) {
	dir := filepath.Join(s.dir, name(height, format))
	meta, err := os.ReadFile(filepath.Join(dir, "metadata"))
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: snapshot %d format %d", ErrNotFound, height, format)
	}
	if err != nil {
		return Info{}, fmt.Errorf("snapshots: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Info{}, fmt.Errorf("snapshots: %w", err)
	}
	var chunks uint32
	for _, e := range ents {
		if _, err := strconv.ParseUint(e.Name(), 10, 32); err == nil {
			chunks++
		}
	}
	return Info{Height: height, Format: format, Chunks: chunks, Hash: sha256.Sum256(meta), Metadata: meta}, nil
}

// Chunk reads chunk index of a published snapshot.
func (s *Store) Chunk(height uint64, format uint32, index uint32) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name(height, format), strconv.FormatUint(uint64(index), 10)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: chunk %d of snapshot %d format %d", ErrNotFound, index, height, format)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	return b, nil
}

// Prune removes all but the keep newest published snapshots.
func (s *Store) Prune(keep int) error {
	list, err := s.List()
	if err != nil {
		return err
	}
	for i := keep; i < len(list); i++ {
		if err := os.RemoveAll(filepath.Join(s.dir, name(list[i].Height, list[i].Format))); err != nil {
			return fmt.Errorf("snapshots: %w", err)
		}
	}
	return nil
}

// Writer writes one snapshot's stream, cutting it into chunks as it goes.
type Writer struct {
	s          *Store
	height     uint64
	format     uint32
	tmp        string
	chunkBytes int

	f      *os.File
	bw     *bufio.Writer
	sum    [32]byte
	h      hash.Hash
	n      int // bytes in the chunk being written
	total  int64
	hashes [][32]byte
	err    error
}

// Create starts a snapshot at height in format, cut into chunks of
// chunkBytes. A snapshot of the same height and format already published
// is replaced when the new one is committed.
func (s *Store) Create(height uint64, format uint32, chunkBytes int) (*Writer, error) {
	if chunkBytes < MinChunkBytes || chunkBytes > MaxChunkBytes {
		return nil, fmt.Errorf("%w: %d, want %d..%d", ErrBadChunkSize, chunkBytes, MinChunkBytes, MaxChunkBytes)
	}
	tmp := filepath.Join(s.dir, name(height, format)+".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	return &Writer{s: s, height: height, format: format, tmp: tmp, chunkBytes: chunkBytes,
		h: sha256.New()}, nil
}

// Write appends p to the stream.
func (w *Writer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 && w.err == nil {
		if w.f == nil {
			w.open()
			continue
		}
		n := min(len(p), w.chunkBytes-w.n)
		if _, err := w.bw.Write(p[:n]); err != nil {
			w.err = fmt.Errorf("snapshots: %w", err)
			break
		}
		w.h.Write(p[:n])
		w.n += n
		w.total += int64(n)
		written += n
		p = p[n:]
		if w.n == w.chunkBytes {
			w.closeChunk()
		}
	}
	return written, w.err
}

func (w *Writer) open() {
	f, err := os.Create(filepath.Join(w.tmp, strconv.Itoa(len(w.hashes))))
	if err != nil {
		w.err = fmt.Errorf("snapshots: %w", err)
		return
	}
	w.f, w.bw, w.n = f, bufio.NewWriterSize(f, 1<<20), 0
	w.h.Reset()
}

func (w *Writer) closeChunk() {
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.err = fmt.Errorf("snapshots: %w", err)
	}
	copy(w.sum[:], w.h.Sum(nil))
	w.hashes = append(w.hashes, w.sum)
	w.f = nil
}

// Bytes is the length of the stream so far.
func (w *Writer) Bytes() int64 { return w.total }

// Commit closes the last chunk, asks metadata for the snapshot's metadata
// given the chunks' hashes and the stream's length, writes it and
// publishes the snapshot. An empty stream has no chunk.
func (w *Writer) Commit(metadata func(hashes [][32]byte, total int64) ([]byte, error)) (Info, error) {
	if w.f != nil && w.err == nil {
		w.closeChunk()
	}
	if w.err != nil {
		w.Abort()
		return Info{}, w.err
	}
	meta, err := metadata(w.hashes, w.total)
	if err == nil {
		err = writeSynced(filepath.Join(w.tmp, "metadata"), meta)
	}
	final := filepath.Join(w.s.dir, name(w.height, w.format))
	if err == nil {
		err = os.RemoveAll(final)
	}
	if err == nil {
		err = os.Rename(w.tmp, final)
	}
	if err == nil {
		err = syncDir(w.s.dir)
	}
	if err != nil {
		w.Abort()
		return Info{}, fmt.Errorf("snapshots: %w", err)
	}
	return Info{Height: w.height, Format: w.format, Chunks: uint32(len(w.hashes)), Hash: sha256.Sum256(meta),
		Metadata: meta}, nil
}

// Abort removes what the writer wrote.
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	os.RemoveAll(w.tmp)
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
