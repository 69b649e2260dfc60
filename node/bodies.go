package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/node/blkfile"
)

// FileBodies is an app.BodyProvider over blk files: an index of the files
// built once, then one positioned read per body (blkfile.Index.Read).
// Blocks of .bz2 files are held in memory from the index pass. It is safe
// for concurrent use.
type FileBodies struct {
	ix *blkfile.Index
}

// OpenFileBodies indexes sources (blk files, .bz2 blk files, Bitcoin Core
// blocks/ directories) for the network of params. With no source it
// returns a provider that has no body, so a node without sources still
// runs (and waits, logging, for the bodies it needs).
func OpenFileBodies(ctx context.Context, params *chaincfg.Params, sources []string) (*FileBodies, error) {
	if len(sources) == 0 {
		return &FileBodies{}, nil
	}
	ix, err := blkfile.Scan(ctx, params, sources, &blkfile.ScanOptions{KeepCompressed: true})
	if err != nil {
		return nil, fmt.Errorf("node: indexing bodies.sources: %w", err)
	}
	return &FileBodies{ix: ix}, nil
}

// Len is the number of blocks indexed.
func (b *FileBodies) Len() int {
	if b.ix == nil {
		return 0
	}
	return b.ix.Len()
}

// Body implements app.BodyProvider. Every failure wraps app.ErrNoBody, so
// that the application waits and asks again instead of halting: a block
// that is not in the files, and also a file that became unreadable or
// changed since the index pass, which an operator can repair without a
// restart of the chain. The cause is wrapped too, for the log.
func (b *FileBodies) Body(_ context.Context, hash chainhash.Hash, _ int32) ([]byte, error) {
	if b.ix == nil {
		return nil, fmt.Errorf("%w: %s: no bodies.sources configured", app.ErrNoBody, hash)
	}
	raw, err := b.ix.Read(hash)
	if errors.Is(err, blkfile.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s is not in bodies.sources", app.ErrNoBody, hash)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", app.ErrNoBody, hash, err)
	}
	return raw, nil
}

var _ app.BodyProvider = (*FileBodies)(nil)
