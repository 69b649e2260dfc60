package blkfile

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// maxOpenFiles bounds the plain files a Stream keeps open. The chain mostly
// walks through the files in order, so a few suffice; the bound matters for
// a mainnet directory of thousands of files.
const maxOpenFiles = 16

// recKey names a record by file and offset.
type recKey struct {
	file int32
	off  int64
}

// blockReader fetches the blocks of a chain by height. Plain files are read
// at the indexed offsets. A .bz2 file can only be decompressed front to back,
// so blocks it yields before their turn are held in memory, up to maxHeld
// bytes; it is used by one goroutine.
type blockReader struct {
	c *Chain

	plain   map[int32]*openFile
	useTick uint64

	seq       map[int32]*seqFile  // open .bz2 decompressors
	needed    map[recKey]struct{} // .bz2 records on the chain at or above from, not yet delivered
	remaining map[int32]int       // per .bz2 file: how many needed records are left
	held      map[recKey][]byte   // blocks decompressed before their turn
	heldBytes int64
	maxHeld   int64
}

type openFile struct {
	f       *os.File
	lastUse uint64
}

type seqFile struct {
	src *streamSource
	fr  *framer
}

func newBlockReader(c *Chain, from int32, maxHeld int64) *blockReader {
	r := &blockReader{
		c:         c,
		plain:     make(map[int32]*openFile),
		seq:       make(map[int32]*seqFile),
		needed:    make(map[recKey]struct{}),
		remaining: make(map[int32]int),
		held:      make(map[recKey][]byte),
		maxHeld:   maxHeld,
	}
	for i := int64(from) - int64(c.start); i >= 0 && i < int64(len(c.entries)); i++ {
		rec := &c.ix.recs[c.entries[i]]
		if c.ix.files[rec.file].bz2 {
			r.needed[recKey{rec.file, rec.off}] = struct{}{}
			r.remaining[rec.file]++
		}
	}
	return r
}

// read returns the block at height, checked against its indexed hash.
func (r *blockReader) read(ctx context.Context, height int32) (Block, error) {
	i, ok := r.c.entry(height)
	if !ok {
		return Block{}, fmt.Errorf("%w: height %d", ErrHeightRange, height)
	}
	rec := &r.c.ix.recs[i]
	var raw []byte
	var err error
	if r.c.ix.files[rec.file].bz2 {
		raw, err = r.readSeq(ctx, rec)
	} else {
		raw, err = r.readPlain(rec)
	}
	if err != nil {
		return Block{}, err
	}
	if got := chainhash.DoubleHashH(raw[:headerSize]); got != rec.hash {
		return Block{}, &HashMismatchError{Height: height, Want: rec.hash, Got: got, Location: r.c.ix.location(i)}
	}
	return Block{Height: height, Hash: rec.hash, Raw: raw}, nil
}

// readPlain reads a record, prefix included, in one read at its offset and
// checks the prefix still says what the index pass saw.
func (r *blockReader) readPlain(rec *record) ([]byte, error) {
	bf := &r.c.ix.files[rec.file]
	f, err := r.openPlain(rec.file)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, prefixSize+int(rec.size))
	n, err := f.ReadAt(buf, rec.off)
	if n < len(buf) {
		if err == nil || err == io.EOF {
			return nil, &FormatError{File: bf.path, Offset: rec.off, Reason: "file is shorter than when it was indexed"}
		}
		return nil, fmt.Errorf("blkfile: reading %s at offset %d: %w", bf.path, rec.off, err)
	}
	bf.key.apply(buf, rec.off)
	if err := checkPrefix(r.c.ix.params.Net, bf, rec, buf); err != nil {
		return nil, err
	}
	return buf[prefixSize:], nil
}

// checkPrefix checks that a record's prefix, read again, still says what
// the index pass saw.
func checkPrefix(net wire.BitcoinNet, bf *blkFile, rec *record, prefix []byte) error {
	magic := binary.LittleEndian.Uint32(prefix[:4])
	length := binary.LittleEndian.Uint32(prefix[4:8])
	if magic != uint32(net) || length != rec.size {
		return &FormatError{File: bf.path, Offset: rec.off,
			Reason: fmt.Sprintf("record prefix %x differs from the indexed one (file changed since indexing?)", prefix[:8])}
	}
	return nil
}

func (r *blockReader) openPlain(file int32) (*os.File, error) {
	r.useTick++
	if of, ok := r.plain[file]; ok {
		of.lastUse = r.useTick
		return of.f, nil
	}
	if len(r.plain) >= maxOpenFiles {
		var oldest int32 = -1
		for k, of := range r.plain {
			if oldest < 0 || of.lastUse < r.plain[oldest].lastUse {
				oldest = k
			}
		}
		r.plain[oldest].f.Close()
		delete(r.plain, oldest)
	}
	f, err := os.Open(r.c.ix.files[file].path)
	if err != nil {
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	r.plain[file] = &openFile{f: f, lastUse: r.useTick}
	return f, nil
}

// readSeq returns a record of a .bz2 file: from the held blocks if it was
// decompressed earlier, else by decompressing forward to it, holding the
// needed blocks met on the way.
func (r *blockReader) readSeq(ctx context.Context, rec *record) ([]byte, error) {
	key := recKey{rec.file, rec.off}
	if b, ok := r.held[key]; ok {
		delete(r.held, key)
		r.heldBytes -= int64(len(b))
		r.delivered(key)
		return b, nil
	}
	bf := &r.c.ix.files[rec.file]
	sf, ok := r.seq[rec.file]
	if !ok {
		src, err := openStream(bf, defaultBufferSize)
		if err != nil {
			return nil, err
		}
		sf = &seqFile{src: src, fr: newFramer(src, bf, r.c.ix.params.Net)}
		r.seq[rec.file] = sf
	}
	for n := 0; ; n++ {
		if n%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if sf.src.pos() > rec.off {
			return nil, &FormatError{File: bf.path, Offset: rec.off, Reason: "indexed record not found (file changed since indexing?)"}
		}
		off, length, st, _, err := sf.fr.next()
		if err != nil {
			return nil, err
		}
		if st != frameOK {
			return nil, &FormatError{File: bf.path, Offset: off, Reason: "data ends before an indexed record (file changed since indexing?)"}
		}
		k := recKey{rec.file, off}
		_, need := r.needed[k]
		if !need {
			if _, err := sf.src.skip(int64(length)); err != nil {
				return nil, r.seqErr(bf, off, err)
			}
			continue
		}
		body := make([]byte, length)
		if _, err := sf.src.readFull(body); err != nil {
			return nil, r.seqErr(bf, off, err)
		}
		if off == rec.off {
			if length != rec.size {
				return nil, &FormatError{File: bf.path, Offset: off, Reason: "record length differs from the indexed one (file changed since indexing?)"}
			}
			r.delivered(k)
			return body, nil
		}
		r.held[k] = body
		r.heldBytes += int64(len(body))
		if r.heldBytes > r.maxHeld {
			return nil, &BufferLimitError{File: bf.path, Limit: r.maxHeld}
		}
	}
}

func (r *blockReader) seqErr(bf *blkFile, off int64, err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return &FormatError{File: bf.path, Offset: off, Reason: "record cut short (file changed since indexing?)"}
	}
	return classifyReadErr(bf, off, err)
}

// delivered forgets a needed .bz2 record and closes its decompressor once
// nothing more is needed from that file.
func (r *blockReader) delivered(k recKey) {
	delete(r.needed, k)
	r.remaining[k.file]--
	if r.remaining[k.file] <= 0 {
		delete(r.remaining, k.file)
		if sf, ok := r.seq[k.file]; ok {
			sf.src.close()
			delete(r.seq, k.file)
		}
	}
}

func (r *blockReader) close() {
	for k, of := range r.plain {
		of.f.Close()
		delete(r.plain, k)
	}
	for k, sf := range r.seq {
		sf.src.close()
		delete(r.seq, k)
	}
	r.held = nil
}
