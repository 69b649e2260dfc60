package blkfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/wire"
)

// DefaultMaxFileSize is Bitcoin Core's blk file size limit (MAX_BLOCKFILE_SIZE).
const DefaultMaxFileSize = 128 << 20

// WriterOptions tunes a Writer. The zero value (or nil) gives defaults.
type WriterOptions struct {
	// MaxFileSize is the size at which the writer moves on to the next
	// file (default 128 MiB). A block that alone exceeds it gets a file of
	// its own.
	MaxFileSize int64
	// XORKey, if not all zeros, obfuscates the files like Bitcoin Core 28+
	// and writes it to xor.dat.
	XORKey [8]byte
}

// Writer writes blocks in blk format into a directory as blk00000.dat,
// blk00001.dat, ..., the layout of Bitcoin Core's blocks/ directory. It never
// overwrites an existing blk file. It is not safe for concurrent use.
type Writer struct {
	dir     string
	magic   [4]byte
	maxSize int64
	key     xorKey

	num     int // number of the next file to create
	f       *os.File
	bw      *bufio.Writer
	path    string
	size    int64 // bytes written to the current file
	files   []string
	scratch []byte
	err     error // sticky: after a failure the writer refuses to go on
	closed  bool
}

// NewWriter prepares to write blocks of network net into dir, creating dir
// if needed. No file is created until the first block is written, except
// xor.dat for a non-zero key.
func NewWriter(dir string, net wire.BitcoinNet, opts *WriterOptions) (*Writer, error) {
	var o WriterOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	w := &Writer{dir: dir, maxSize: o.MaxFileSize, key: xorKey(o.XORKey)}
	binary.LittleEndian.PutUint32(w.magic[:], uint32(net))
	if err := w.setupKey(); err != nil {
		return nil, err
	}
	return w, nil
}

// setupKey makes dir/xor.dat agree with the writer's key: files in one
// directory share one key, so a different existing key is refused rather
// than producing files nobody can read.
func (w *Writer) setupKey() error {
	existing, err := readXORKey(w.dir)
	if err != nil {
		return err
	}
	path := filepath.Join(w.dir, XORKeyFile)
	_, statErr := os.Stat(path)
	switch {
	case statErr == nil && existing != w.key:
		return fmt.Errorf("blkfile: %s holds a different obfuscation key", path)
	case statErr == nil || w.key.isZero():
		return nil
	case !errors.Is(statErr, fs.ErrNotExist):
		return fmt.Errorf("blkfile: %w", statErr)
	}
	if err := writeFileSync(path, w.key[:]); err != nil {
		return fmt.Errorf("blkfile: writing obfuscation key: %w", err)
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteBlock appends one serialized block and returns where it was put.
func (w *Writer) WriteBlock(raw []byte) (Location, error) {
	if w.closed {
		return Location{}, errors.New("blkfile: write to closed Writer")
	}
	if w.err != nil {
		return Location{}, w.err
	}
	if len(raw) < headerSize || len(raw) > MaxBlockSize {
		return Location{}, fmt.Errorf("blkfile: block of %d bytes cannot be stored (must be %d..%d)", len(raw), headerSize, MaxBlockSize)
	}
	rec := prefixSize + int64(len(raw))
	if w.f != nil && w.size > 0 && w.size+rec > w.maxSize {
		if err := w.finishFile(); err != nil {
			w.err = err
			return Location{}, err
		}
	}
	if w.f == nil {
		if err := w.nextFile(); err != nil {
			w.err = err
			return Location{}, err
		}
	}
	loc := Location{Path: w.path, Offset: w.size, Size: uint32(len(raw))}
	var prefix [prefixSize]byte
	copy(prefix[:4], w.magic[:])
	binary.LittleEndian.PutUint32(prefix[4:], uint32(len(raw)))
	if err := w.write(prefix[:]); err != nil {
		return Location{}, err
	}
	if err := w.write(raw); err != nil {
		return Location{}, err
	}
	return loc, nil
}

// WriteMsgBlock serializes a block and appends it.
func (w *Writer) WriteMsgBlock(b *wire.MsgBlock) (Location, error) {
	var buf bytes.Buffer
	buf.Grow(b.SerializeSize())
	if err := b.Serialize(&buf); err != nil {
		return Location{}, fmt.Errorf("blkfile: serializing block: %w", err)
	}
	return w.WriteBlock(buf.Bytes())
}

// write obfuscates (if keyed) a copy of p at the current file offset and
// buffers it.
func (w *Writer) write(p []byte) error {
	data := p
	if !w.key.isZero() {
		w.scratch = append(w.scratch[:0], p...)
		w.key.apply(w.scratch, w.size)
		data = w.scratch
	}
	if _, err := w.bw.Write(data); err != nil {
		w.err = fmt.Errorf("blkfile: writing %s: %w", w.path, err)
		return w.err
	}
	w.size += int64(len(p))
	return nil
}

func (w *Writer) nextFile() error {
	path := filepath.Join(w.dir, fmt.Sprintf("blk%05d.dat", w.num))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("blkfile: %w", err)
	}
	w.num++
	w.f, w.path, w.size = f, path, 0
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 1<<20)
	} else {
		w.bw.Reset(f)
	}
	w.files = append(w.files, path)
	return nil
}

// finishFile flushes, fsyncs and closes the current file, so a file the
// writer has moved past is complete on disk.
func (w *Writer) finishFile() error {
	f := w.f
	w.f = nil
	if err := w.bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("blkfile: writing %s: %w", w.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("blkfile: syncing %s: %w", w.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blkfile: closing %s: %w", w.path, err)
	}
	return nil
}

// Files returns the files written so far.
func (w *Writer) Files() []string { return append([]string(nil), w.files...) }

// Close flushes and fsyncs the last file and the directory. After an
// earlier write error it still closes the file and returns that error.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if w.f != nil {
		err = w.finishFile()
	}
	if w.err != nil {
		return w.err
	}
	if err != nil {
		return err
	}
	if d, derr := os.Open(w.dir); derr == nil {
		// Make the new directory entries durable too; not every platform
		// can sync a directory, so failure to open or sync is not fatal.
		_ = d.Sync()
		d.Close()
	}
	return nil
}
