package btcnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/node/blkfile"
)

// FileSource is a Source over blk files (Bitcoin Core's blocks/ directory,
// loose blk files, or .bz2-compressed ones), for running a synchronizer or
// endorser against a fixed chain without a node: tests, replays, and
// offline imports. Its best chain is the one with the most work in the
// files, fixed when it is opened. It is immutable and safe for concurrent
// use.
type FileSource struct {
	params *chaincfg.Params
	ix     *blkfile.Index
	chain  *blkfile.Chain
}

// FileSource implements Source.
var _ Source = (*FileSource)(nil)

// OpenFiles scans sources (see blkfile.Scan) for the network of params and
// builds a FileSource over their best chain rooted at genesis. Blocks of
// .bz2 files are kept in memory, because a compressed file cannot be read
// by position: budget their decompressed size.
func OpenFiles(ctx context.Context, params *chaincfg.Params, sources []string) (*FileSource, error) {
	ix, err := blkfile.Scan(ctx, params, sources, &blkfile.ScanOptions{KeepCompressed: true})
	if err != nil {
		return nil, fmt.Errorf("btcnode: scanning blk files: %w", err)
	}
	return NewFileSource(ix)
}

// NewFileSource returns a FileSource over an index already built, using its
// best chain rooted at genesis. Blocks in .bz2 files can only be served if
// the index was built with ScanOptions.KeepCompressed.
func NewFileSource(ix *blkfile.Index) (*FileSource, error) {
	chain, err := ix.BestChain()
	if err != nil {
		return nil, fmt.Errorf("btcnode: building the best chain of the blk files: %w", err)
	}
	return &FileSource{params: ix.Params(), ix: ix, chain: chain}, nil
}

// ChainInfo implements Source. Chain is params.Name ("mainnet",
// "regtest", ...), as btcd reports it, not Core's "main".
func (f *FileSource) ChainInfo(ctx context.Context) (ChainInfo, error) {
	if err := ctx.Err(); err != nil {
		return ChainInfo{}, err
	}
	height, hash := f.chain.Tip()
	return ChainInfo{Chain: f.params.Name, Blocks: height, Headers: height, BestBlockHash: hash}, nil
}

// BestBlockHash implements Source.
func (f *FileSource) BestBlockHash(ctx context.Context) (chainhash.Hash, error) {
	if err := ctx.Err(); err != nil {
		return chainhash.Hash{}, err
	}
	_, hash := f.chain.Tip()
	return hash, nil
}

// BlockHash implements Source.
func (f *FileSource) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	if err := ctx.Err(); err != nil {
		return chainhash.Hash{}, err
	}
	hash, ok := f.chain.Hash(height)
	if !ok {
		tip, _ := f.chain.Tip()
		return chainhash.Hash{}, fmt.Errorf("%w: height %d is outside the blk files' chain (tip %d)", ErrNotFound, height, tip)
	}
	return hash, nil
}

// BlockHeader implements Source. Only blocks on the best chain have a
// height, so a stale block that is in the files is still ErrNotFound here
// (Block serves it). The header is cut from the block, which for a plain
// file means reading the whole block.
func (f *FileSource) BlockHeader(ctx context.Context, hash chainhash.Hash) (Header, error) {
	if err := ctx.Err(); err != nil {
		return Header{}, err
	}
	height, ok := f.chain.Height(hash)
	if !ok {
		return Header{}, fmt.Errorf("%w: block %s is not on the blk files' best chain", ErrNotFound, hash)
	}
	raw, err := f.read(hash)
	if err != nil {
		return Header{}, err
	}
	h := Header{Height: height}
	copy(h.Raw[:], raw[:80])
	if err := h.Header.Deserialize(bytes.NewReader(raw[:80])); err != nil {
		// blkfile has checked the hash, so the 80 bytes are a header.
		return Header{}, fmt.Errorf("btcnode: header of %s: %w", hash, err)
	}
	return h, nil
}

// Block implements Source. It serves any block in the files, including
// stale ones.
func (f *FileSource) Block(ctx context.Context, hash chainhash.Hash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.read(hash)
}

// read returns a block, with blkfile's "not in the index" also matching
// ErrNotFound so that callers test one error whatever the Source.
func (f *FileSource) read(hash chainhash.Hash) ([]byte, error) {
	raw, err := f.ix.Read(hash)
	switch {
	case errors.Is(err, blkfile.ErrNotFound):
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	case err != nil:
		return nil, fmt.Errorf("btcnode: %w", err)
	case len(raw) < 80:
		// Read checks the header hash, so this cannot happen; a short slice
		// would otherwise panic the callers above.
		return nil, fmt.Errorf("btcnode: block %s read back as %d bytes", hash, len(raw))
	}
	return raw, nil
}
