package app

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
)

// HeaderHeight looks hash up in the committed Bitcoin header state of the
// view and returns its height: ok is false if the hash is neither on the
// canonical chain nor in the header tree. Peers' claims about heights are
// checked against this, never taken.
//
// Two point reads at most: the UTXO engine's hash → height index answers
// for every block on the canonical chain up to Tip, the finalized base and
// below included; every other header of the tree is above the base and
// has an endorsement record, found through the records' hash index.
func (v *View) HeaderHeight(hash chainhash.Hash) (int32, bool, error) {
	if v.Reader == nil || v.snap == nil {
		return 0, false, fmt.Errorf("app: view has no store snapshot")
	}
	h, err := v.Reader.HeightOf(hash)
	switch {
	case err == nil:
		return h, true, nil
	case !errors.Is(err, utxo.ErrNotFound):
		return 0, false, fmt.Errorf("app: looking up header %s: %w", hash, err)
	}
	raw, err := v.snap.Get(hashIndexKey(hash))
	switch {
	case errors.Is(err, utxo.ErrNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("app: looking up header %s: %w", hash, err)
	case len(raw) != 4:
		return 0, false, fmt.Errorf("%w: header index entry of %s has %d bytes", ErrCorrupt, hash, len(raw))
	}
	return int32(binary.BigEndian.Uint32(raw)), true, nil
}
