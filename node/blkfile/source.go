package blkfile

import (
	"bufio"
	"cmp"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// blkFile is one input file, with what is needed to decode its bytes.
type blkFile struct {
	path string
	bz2  bool   // .bz2-compressed: can only be read sequentially
	key  xorKey // obfuscation key from xor.dat in the file's directory
}

// expandSources turns the user's source list into an ordered file list:
// files are taken as given, directories contribute their blk?????.dat (or
// .dat.bz2) files in numeric order. Each file gets the xor.dat key of its own
// directory, because Core obfuscates every blk file of a blocks/ directory
// with that directory's key, whether or not the user named the directory.
func expandSources(sources []string) ([]blkFile, error) {
	if len(sources) == 0 {
		return nil, fmt.Errorf("%w: empty source list", ErrNoBlockFiles)
	}
	keys := make(map[string]xorKey)
	keyFor := func(dir string) (xorKey, error) {
		if k, ok := keys[dir]; ok {
			return k, nil
		}
		k, err := readXORKey(dir)
		if err != nil {
			return k, err
		}
		keys[dir] = k
		return k, nil
	}
	seen := make(map[string]bool)
	var files []blkFile
	add := func(path string) error {
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("blkfile: %w", err)
		}
		if seen[abs] {
			return nil // the same file twice would only produce duplicates
		}
		seen[abs] = true
		k, err := keyFor(filepath.Dir(abs))
		if err != nil {
			return err
		}
		files = append(files, blkFile{
			path: path,
			bz2:  strings.HasSuffix(strings.ToLower(path), ".bz2"),
			key:  k,
		})
		return nil
	}
	for _, src := range sources {
		st, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("blkfile: source: %w", err)
		}
		if !st.IsDir() {
			if err := add(src); err != nil {
				return nil, err
			}
			continue
		}
		names, err := blkFileNames(src)
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w in directory %s", ErrNoBlockFiles, src)
		}
		for _, name := range names {
			if err := add(filepath.Join(src, name)); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// blkFileNames lists the blk files of a directory in numeric order. Core's
// own names are zero-padded so lexical order would do, but numeric order also
// copes with hand-made directories (blk9.dat before blk10.dat).
func blkFileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blkfile: source: %w", err)
	}
	type numbered struct {
		name string
		num  uint64
	}
	var list []numbered
	for _, e := range entries {
		if !e.Type().IsRegular() && e.Type()&os.ModeSymlink == 0 {
			continue
		}
		num, ok := blkFileNumber(e.Name())
		if !ok {
			continue
		}
		list = append(list, numbered{e.Name(), num})
	}
	slices.SortFunc(list, func(a, b numbered) int {
		return cmp.Or(cmp.Compare(a.num, b.num), cmp.Compare(a.name, b.name))
	})
	names := make([]string, len(list))
	for i, n := range list {
		names[i] = n.name
	}
	return names, nil
}

// blkFileNumber parses "blk<digits>.dat" or "blk<digits>.dat.bz2".
func blkFileNumber(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, "blk")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".dat")
	if !ok {
		if digits, ok = strings.CutSuffix(rest, ".dat.bz2"); !ok {
			return 0, false
		}
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// recordSource is the byte access the record parser needs, implemented for
// seekable plain files and for sequential (decompressed) streams.
type recordSource interface {
	// pos is the offset of the next byte in the file's (decompressed) data.
	pos() int64
	// readFull reads len(p) bytes. It returns io.EOF if no byte was left,
	// io.ErrUnexpectedEOF if only some were.
	readFull(p []byte) (int, error)
	// skip advances n bytes; if the data ends first it returns the number
	// skipped and io.ErrUnexpectedEOF.
	skip(n int64) (int64, error)
	close() error
}

// Read-ahead sizes for plain files during the index pass. After a seek over
// a block body the next read is small, because the next record may be far
// away again; reads that continue sequentially double up to the buffer size,
// so dense runs of small blocks (the early chain) are read in large chunks.
const (
	minPlainFill      = 16 << 10
	defaultBufferSize = 1 << 20
)

// plainSource reads a plain file through its own buffer, seeking over the
// bytes the caller skips instead of reading them.
type plainSource struct {
	f     *os.File
	size  int64
	key   xorKey
	buf   []byte
	start int64 // file offset of buf[0]
	r, w  int   // read position and end of valid data in buf
	fill  int   // size of the next refill
}

func openPlain(f *blkFile, bufSize int) (*plainSource, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	return &plainSource{
		f:    fh,
		size: st.Size(),
		key:  f.key,
		buf:  make([]byte, bufSize),
		fill: min(minPlainFill, bufSize),
	}, nil
}

func (p *plainSource) pos() int64 { return p.start + int64(p.r) }

func (p *plainSource) refill() error {
	off := p.pos()
	if off >= p.size {
		return io.EOF
	}
	n := int(min(int64(p.fill), p.size-off))
	m, err := p.f.ReadAt(p.buf[:n], off)
	if m == 0 {
		if err == nil || err == io.EOF {
			return io.EOF // the file shrank since we took its size
		}
		return err
	}
	p.key.apply(p.buf[:m], off)
	p.start, p.r, p.w = off, 0, m
	p.fill = min(2*p.fill, len(p.buf))
	return nil
}

func (p *plainSource) readFull(dst []byte) (int, error) {
	n := 0
	for n < len(dst) {
		if p.r == p.w {
			if err := p.refill(); err != nil {
				if err != io.EOF {
					return n, err
				}
				break
			}
		}
		c := copy(dst[n:], p.buf[p.r:p.w])
		p.r += c
		n += c
	}
	switch {
	case n == len(dst):
		return n, nil
	case n == 0:
		return 0, io.EOF
	default:
		return n, io.ErrUnexpectedEOF
	}
}

func (p *plainSource) skip(n int64) (int64, error) {
	if n <= int64(p.w-p.r) {
		p.r += int(n)
		return n, nil
	}
	from := p.pos()
	target := from + n
	var err error
	if target > p.size {
		target, err = p.size, io.ErrUnexpectedEOF
	}
	// Drop the buffer and restart small at the target: this is the seek that
	// keeps the index pass from reading block bodies.
	p.start, p.r, p.w = target, 0, 0
	p.fill = min(minPlainFill, len(p.buf))
	return target - from, err
}

func (p *plainSource) close() error { return p.f.Close() }

// errCompressedTruncated replaces the bzip2 reader's io.ErrUnexpectedEOF (the
// compressed file ends mid-stream) so that it is not mistaken for a record
// that is cut short in the decompressed data, which is a normal condition.
var errCompressedTruncated = errors.New("compressed data ends unexpectedly")

type bz2ErrReader struct{ r io.Reader }

func (b bz2ErrReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = errCompressedTruncated
	}
	return n, err
}

// streamSource reads a .bz2 file sequentially; skipping means decompressing
// and discarding.
type streamSource struct {
	f   *os.File
	br  *bufio.Reader
	off int64
}

func openStream(f *blkFile, bufSize int) (*streamSource, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	var r io.Reader = bz2ErrReader{bzip2.NewReader(bufio.NewReaderSize(fh, bufSize))}
	if !f.key.isZero() {
		r = &xorReader{r: r, key: f.key}
	}
	return &streamSource{f: fh, br: bufio.NewReaderSize(r, bufSize)}, nil
}

func (s *streamSource) pos() int64 { return s.off }

func (s *streamSource) readFull(p []byte) (int, error) {
	n, err := io.ReadFull(s.br, p)
	s.off += int64(n)
	return n, err
}

func (s *streamSource) skip(n int64) (int64, error) {
	var done int64
	for done < n {
		// Discard takes an int; records are at most a few MB, but loop so
		// that no conversion can truncate.
		step := int(min(n-done, 1<<30))
		m, err := s.br.Discard(step)
		done += int64(m)
		s.off += int64(m)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
	}
	return done, nil
}

func (s *streamSource) close() error { return s.f.Close() }

func openSource(f *blkFile, bufSize int) (recordSource, error) {
	if f.bz2 {
		return openStream(f, bufSize)
	}
	return openPlain(f, bufSize)
}
