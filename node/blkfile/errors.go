package blkfile

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Sentinel errors. Match them with errors.Is; the concrete errors returned
// carry more detail (file, offset, height).
var (
	// ErrHashMismatch: a block read back from disk does not hash to the hash
	// recorded for it by the index pass (the file changed, or disk corruption).
	ErrHashMismatch = errors.New("blkfile: block hash does not match the index")

	// ErrBufferLimit: reading a .bz2 source in chain order needed to hold
	// more out-of-order blocks in memory than allowed.
	ErrBufferLimit = errors.New("blkfile: out-of-order block buffer limit exceeded")

	// ErrNoBlockFiles: a source directory holds no blk?????.dat files, or the
	// source list is empty.
	ErrNoBlockFiles = errors.New("blkfile: no blk files found")

	// ErrNoChain: neither the chain's base block nor any block building on it
	// was found in the sources (wrong network, wrong directory, or a base
	// hash that is not in these files).
	ErrNoChain = errors.New("blkfile: no blocks connect to the chain base")

	// ErrHeightRange: a height outside the chain was asked for.
	ErrHeightRange = errors.New("blkfile: height out of range")

	// ErrNotFound: Index.Read was asked for a block the index does not
	// hold.
	ErrNotFound = errors.New("blkfile: block not in the indexed files")

	// ErrNotSeekable: Index.Read was asked for a block of a .bz2 file
	// whose blocks were not kept in memory (ScanOptions.KeepCompressed).
	ErrNotSeekable = errors.New("blkfile: block is in a compressed file that cannot be read by position")
)

// FormatError reports data that is not valid blk framing: a wrong magic, an
// impossible record length, a bad xor.dat, corrupt bzip2 data, or a file that
// no longer matches what the index pass saw in it.
type FormatError struct {
	File   string // path of the file
	Offset int64  // byte offset in the file's data (decompressed, for .bz2)
	Reason string // what is wrong, for humans
	Err    error  // underlying error, if any
}

func (e *FormatError) Error() string {
	s := fmt.Sprintf("blkfile: %s at offset %d: %s", e.File, e.Offset, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error, if any.
func (e *FormatError) Unwrap() error { return e.Err }

// HashMismatchError is returned by a Stream or Index.Read when the bytes
// read for a block do not hash to the indexed hash. It matches
// ErrHashMismatch.
type HashMismatchError struct {
	Height   int32          // -1 from Index.Read, which reads by hash
	Want     chainhash.Hash // hash recorded by the index pass
	Got      chainhash.Hash // double-SHA256 of the header read now
	Location Location
}

func (e *HashMismatchError) Error() string {
	what := fmt.Sprintf("block at height %d", e.Height)
	if e.Height < 0 {
		what = "block " + e.Want.String()
	}
	return fmt.Sprintf("blkfile: %s (%s offset %d): hash %s, index says %s (file changed since indexing?)",
		what, e.Location.Path, e.Location.Offset, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrHashMismatch) true.
func (e *HashMismatchError) Is(target error) bool { return target == ErrHashMismatch }

// BufferLimitError is returned by a Stream reading a .bz2 file whose blocks
// are too far out of chain order to be held in memory. It matches
// ErrBufferLimit.
type BufferLimitError struct {
	File  string // the .bz2 file being decompressed
	Limit int64  // the configured limit in bytes
}

func (e *BufferLimitError) Error() string {
	return fmt.Sprintf("blkfile: %s: blocks are too far out of order to read from a compressed file "+
		"(more than %d MiB would have to be held in memory); decompress the .bz2 files first "+
		"(e.g. bunzip2 -k) or raise the buffer limit", e.File, e.Limit>>20)
}

// Is makes errors.Is(err, ErrBufferLimit) true.
func (e *BufferLimitError) Is(target error) bool { return target == ErrBufferLimit }
