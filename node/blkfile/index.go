package blkfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// ScanOptions tunes the index pass. The zero value (or nil) gives defaults.
type ScanOptions struct {
	// Workers is how many files are scanned at once (default: GOMAXPROCS,
	// at most 4). Files are independent, so this overlaps seeks on SSDs and
	// spreads bzip2 decompression over cores; use 1 on a spinning disk.
	Workers int
	// BufferSize is the read buffer per worker (default 1 MiB).
	BufferSize int
	// Progress, if set, is called after each file is scanned, from one
	// goroutine at a time.
	Progress func(filesDone, filesTotal int)
	// KeepCompressed holds the decompressed blocks of .bz2 files in memory,
	// so that Index.Read can serve them: a bzip2 stream cannot be seeked,
	// and the index pass decompresses every byte anyway, so keeping the
	// blocks then costs memory (the decompressed size of those files) but
	// no second decompression. Plain files are never held.
	KeepCompressed bool
}

// ScanStats summarises an index pass.
type ScanStats struct {
	Files       int          // blk files scanned
	Records     int          // complete records found, duplicates included
	Duplicates  int          // records of a block already seen earlier in file order (ignored)
	Bytes       int64        // bytes of complete records, prefixes included
	PaddedFiles int          // files whose data ends in Core's zero preallocation
	Truncated   []Truncation // records cut short at the end of a file (ignored)
}

// Location is where a block is stored.
type Location struct {
	Path   string // the blk file, as given or found in a source directory
	Offset int64  // offset of the record's magic in the file's (decompressed) data; the block starts 8 bytes later
	Size   uint32 // serialized block size
}

// record is one indexed block, kept compact: mainnet has ~10^6 of them.
type record struct {
	hash chainhash.Hash
	prev chainhash.Hash
	off  int64
	file int32
	size uint32
	bits uint32
}

// Index is the result of the index pass: every distinct block found in the
// sources with its header links and location. It is immutable and safe for
// concurrent use.
type Index struct {
	params *chaincfg.Params
	files  []blkFile
	recs   []record // distinct blocks, in file order (first record of each)
	byHash map[chainhash.Hash]int32
	// held are the blocks of .bz2 files kept by ScanOptions.KeepCompressed,
	// by index in recs.
	held  map[int32][]byte
	stats ScanStats
}

// fileScan is the index pass result for one file.
type fileScan struct {
	recs      []record
	bodies    [][]byte // with ScanOptions.KeepCompressed on a .bz2 file: the block of each rec
	bytes     int64
	padded    bool
	truncated *Truncation
}

// Scan runs the index pass over sources (blk files, .bz2-compressed blk
// files, or Bitcoin Core blocks/ directories) for the network of params. It
// reads only record prefixes and block headers; bodies of plain files are
// seeked over.
func Scan(ctx context.Context, params *chaincfg.Params, sources []string, opts *ScanOptions) (*Index, error) {
	if params == nil {
		return nil, errors.New("blkfile: nil chain params")
	}
	var o ScanOptions
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	if o.BufferSize < 4096 {
		o.BufferSize = defaultBufferSize
	}
	files, err := expandSources(sources)
	if err != nil {
		return nil, err
	}

	// When a file fails, files after it stop (the index is unusable anyway)
	// but files before it finish, so that the error reported - the first
	// in file order - does not depend on timing.
	var firstFail atomic.Int64
	firstFail.Store(math.MaxInt64)
	results := make([]fileScan, len(files))
	errs := make([]error, len(files))
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		progMu   sync.Mutex
		progDone int
	)
	for range min(o.Workers, len(files)) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(files)) || i > firstFail.Load() || ctx.Err() != nil {
					return
				}
				stop := func() bool { return ctx.Err() != nil || firstFail.Load() < i }
				keep := o.KeepCompressed && files[i].bz2
				results[i], errs[i] = scanFile(stop, &files[i], int32(i), params, o.BufferSize, keep)
				if errs[i] != nil {
					for {
						cur := firstFail.Load()
						if i >= cur || firstFail.CompareAndSwap(cur, i) {
							break
						}
					}
					return
				}
				if o.Progress != nil {
					progMu.Lock()
					progDone++
					o.Progress(progDone, len(files))
					progMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, e := range errs {
		if e != nil && e != errStopped {
			return nil, e
		}
	}
	return buildIndex(params, files, results)
}

// buildIndex merges per-file results in file order, so that "the first
// record of a block" is deterministic whatever the scan parallelism.
func buildIndex(params *chaincfg.Params, files []blkFile, results []fileScan) (*Index, error) {
	total := 0
	for _, r := range results {
		total += len(r.recs)
	}
	if total >= math.MaxInt32 {
		return nil, fmt.Errorf("blkfile: %d records is more than this package can index", total)
	}
	ix := &Index{
		params: params,
		files:  files,
		recs:   make([]record, 0, total),
		byHash: make(map[chainhash.Hash]int32, total),
		held:   make(map[int32][]byte),
	}
	ix.stats.Files = len(files)
	for fi := range results {
		r := &results[fi]
		ix.stats.Bytes += r.bytes
		if r.padded {
			ix.stats.PaddedFiles++
		}
		if r.truncated != nil {
			ix.stats.Truncated = append(ix.stats.Truncated, *r.truncated)
		}
		for i := range r.recs {
			ix.stats.Records++
			if _, dup := ix.byHash[r.recs[i].hash]; dup {
				ix.stats.Duplicates++
				continue
			}
			ix.byHash[r.recs[i].hash] = int32(len(ix.recs))
			if r.bodies != nil {
				ix.held[int32(len(ix.recs))] = r.bodies[i]
			}
			ix.recs = append(ix.recs, r.recs[i])
		}
		r.recs, r.bodies = nil, nil // let the per-file copy go: peak memory matters on mainnet
	}
	return ix, nil
}

// errStopped ends a file scan that another file's failure made pointless.
var errStopped = errors.New("blkfile: scan stopped")

// scanFile indexes one file: prefix and header of each record, body skipped,
// or with keep read and returned in fileScan.bodies. stop is polled now and
// then to abandon the scan.
func scanFile(stop func() bool, f *blkFile, fileIdx int32, params *chaincfg.Params, bufSize int, keep bool) (fileScan, error) {
	var res fileScan
	src, err := openSource(f, bufSize)
	if err != nil {
		return res, err
	}
	defer src.close()
	fr := newFramer(src, f, params.Net)
	var hdr [headerSize]byte
	for n := 0; ; n++ {
		if n%1024 == 0 && stop() {
			return res, errStopped
		}
		off, length, st, tr, err := fr.next()
		if err != nil {
			return res, err
		}
		switch st {
		case frameEOF:
			return res, nil
		case framePadding:
			res.padded = true
			return res, nil
		case frameTruncated:
			res.truncated = &tr
			return res, nil
		}
		tr = Truncation{File: f.path, Offset: off, Want: prefixSize + int64(length)}
		got, err := src.readFull(hdr[:])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			tr.Have = prefixSize + int64(got)
			res.truncated = &tr
			return res, nil
		}
		if err != nil {
			return res, classifyReadErr(f, off, err)
		}
		var body []byte
		var skipped int64
		if keep {
			body = make([]byte, length)
			copy(body, hdr[:])
			var got int
			got, err = src.readFull(body[headerSize:])
			skipped = int64(got)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
		} else {
			skipped, err = src.skip(int64(length) - headerSize)
		}
		if err == io.ErrUnexpectedEOF {
			tr.Have = prefixSize + headerSize + skipped
			res.truncated = &tr
			return res, nil
		}
		if err != nil {
			return res, classifyReadErr(f, off, err)
		}
		res.recs = append(res.recs, record{
			hash: chainhash.DoubleHashH(hdr[:]),
			prev: chainhash.Hash(hdr[4:36]),
			bits: binary.LittleEndian.Uint32(hdr[72:76]),
			file: fileIdx,
			off:  off,
			size: length,
		})
		if keep {
			res.bodies = append(res.bodies, body)
		}
		res.bytes += prefixSize + int64(length)
	}
}

// Params returns the network the index was built for.
func (ix *Index) Params() *chaincfg.Params { return ix.params }

// Stats returns what the index pass found.
func (ix *Index) Stats() ScanStats {
	s := ix.stats
	s.Truncated = append([]Truncation(nil), s.Truncated...)
	return s
}

// Files returns the scanned files in scan order.
func (ix *Index) Files() []string {
	out := make([]string, len(ix.files))
	for i := range ix.files {
		out[i] = ix.files[i].path
	}
	return out
}

// Len returns the number of distinct blocks indexed.
func (ix *Index) Len() int { return len(ix.recs) }

// Lookup returns where the (first record of the) block with this hash is.
func (ix *Index) Lookup(hash chainhash.Hash) (Location, bool) {
	i, ok := ix.byHash[hash]
	if !ok {
		return Location{}, false
	}
	return ix.location(i), true
}

func (ix *Index) location(i int32) Location {
	r := &ix.recs[i]
	return Location{Path: ix.files[r.file].path, Offset: r.off, Size: r.size}
}
