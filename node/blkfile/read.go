package blkfile

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Read returns the serialized block with this hash, for random access by
// hash (a node applying the blocks its chain endorses) rather than the
// height-ordered streaming of Chain.Blocks.
//
// A block of a plain file, obfuscated or not, is read with one positioned
// read at its indexed offset: the file is opened for each call and closed
// after it, so an Index holds no descriptors and Read is safe for
// concurrent use. A block of a .bz2 file is served from memory if the index
// was built with ScanOptions.KeepCompressed, since a bzip2 stream cannot be
// seeked; otherwise Read fails with an error matching ErrNotSeekable.
//
// The record prefix is checked against the index and the header against the
// hash (a *HashMismatchError when the file changed since the scan). A hash
// the index does not hold is an error matching ErrNotFound. The returned
// slice belongs to the caller.
func (ix *Index) Read(hash chainhash.Hash) ([]byte, error) {
	i, ok := ix.byHash[hash]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, hash)
	}
	rec := &ix.recs[i]
	bf := &ix.files[rec.file]
	var raw []byte
	if bf.bz2 {
		held, ok := ix.held[i]
		if !ok {
			return nil, fmt.Errorf("%w: block %s is in %s, whose blocks were not kept in memory (ScanOptions.KeepCompressed)",
				ErrNotSeekable, hash, bf.path)
		}
		raw = bytes.Clone(held)
	} else {
		var err error
		if raw, err = ix.readPlain(bf, rec); err != nil {
			return nil, err
		}
	}
	if got := chainhash.DoubleHashH(raw[:headerSize]); got != rec.hash {
		return nil, &HashMismatchError{Height: -1, Want: rec.hash, Got: got, Location: ix.location(i)}
	}
	return raw, nil
}

// readPlain reads one record, prefix included, de-obfuscates it and checks
// the prefix is still the one the index pass saw.
func (ix *Index) readPlain(bf *blkFile, rec *record) ([]byte, error) {
	f, err := os.Open(bf.path)
	if err != nil {
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	defer f.Close()
	buf := make([]byte, prefixSize+int(rec.size))
	n, err := f.ReadAt(buf, rec.off)
	if n < len(buf) {
		if err == nil || err == io.EOF {
			return nil, &FormatError{File: bf.path, Offset: rec.off, Reason: "file is shorter than when it was indexed"}
		}
		return nil, fmt.Errorf("blkfile: reading %s at offset %d: %w", bf.path, rec.off, err)
	}
	bf.key.apply(buf, rec.off)
	if err := checkPrefix(ix.params.Net, bf, rec, buf); err != nil {
		return nil, err
	}
	return buf[prefixSize:], nil
}
