package verify

import (
	"bytes"
	"context"
	"fmt"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	"github.com/cometbft/cometbft/types"
)

// TrustOptions are the verifier's root of trust: a header it already
// believes (from a source it trusts, not from the node it is checking),
// and how long a validator set stays trusted after it (well under the
// chain's unbonding period).
type TrustOptions struct {
	Height int64         // required, ≥ 1
	Hash   []byte        // required: that header's hash, 32 bytes
	Period time.Duration // required, > 0
}

// LightVerify returns the header at height, verified by CometBFT's light
// client (skipping verification at light.DefaultTrustLevel) from trust:
// every step to it is signed by validators the trusted header made
// trustworthy, so a node that forges a header, or a whole chain, without
// ≥ 1/3 of the trusted stake is refused. The trusted store lives in
// memory and dies with the call. now is the verifier's clock: a trusted
// header older than trust.Period, or a header later than now (plus the
// client's 10 s drift), is refused.
//
// The client in v0.38 refuses to start without a witness (ErrNoWitnesses)
// and compares the verified header with each witness's. With no
// witnesses given, the primary is its own witness: that comparison then
// proves nothing, and need not, since the signatures checked from trust
// are the security; more witnesses only detect a fork sooner.
func LightVerify(ctx context.Context, chainID string, trust TrustOptions, primary provider.Provider,
	witnesses []provider.Provider, height int64, now time.Time) (*types.SignedHeader, error) {
	if primary == nil {
		return nil, fail(StepHeader, ErrLightClient, "no primary provider")
	}
	if height < 1 {
		return nil, fail(StepHeader, ErrMalformed, "height %d", height)
	}
	if len(witnesses) == 0 {
		witnesses = []provider.Provider{primary}
	}
	c, err := light.NewClient(ctx, chainID,
		light.TrustOptions{Period: trust.Period, Height: trust.Height, Hash: trust.Hash},
		primary, witnesses, lightdb.New(dbm.NewMemDB(), ""),
		light.SkippingVerification(light.DefaultTrustLevel))
	if err != nil {
		return nil, fail(StepHeader, ErrLightClient, "from trusted height %d: %v", trust.Height, err)
	}
	lb, err := c.VerifyLightBlockAtHeight(ctx, height, now)
	if err != nil {
		return nil, fail(StepHeader, ErrLightClient, "height %d: %v", height, err)
	}
	if lb.SignedHeader == nil || lb.Header == nil || lb.Header.Height != height {
		return nil, fail(StepHeader, ErrLightClient, "no header at height %d", height)
	}
	return lb.SignedHeader, nil
}

// HTTPProvider is a light block provider reading a CometBFT node's RPC
// (the node's own port, e.g. http://host:26657), through
// light/provider/http. What it returns is checked, never trusted.
func HTTPProvider(chainID, url string) (provider.Provider, error) {
	p, err := lighthttp.New(chainID, url)
	if err != nil {
		return nil, fmt.Errorf("verify: provider %s: %w", url, err)
	}
	return p, nil
}

// Result is a verified file: the header that carries its app hash and
// what the file proves.
type Result struct {
	Header   *types.SignedHeader
	UTXO     *UTXOResult     // for a UTXO proof
	Reserves *ReservesResult // for a reserves proof
}

// Verify checks a file end to end: the light client verifies the header
// at the file's header_height from trust, the header must be of the
// file's chain with the file's app hash, and the file must prove what it
// claims against that app hash (VerifyUTXO, VerifyReserves). witnesses
// may be empty (see LightVerify).
func Verify(ctx context.Context, f *File, trust TrustOptions, primary provider.Provider,
	witnesses []provider.Provider, now time.Time) (*Result, error) {
	if f == nil || (f.UTXO == nil) == (f.Reserves == nil) {
		return nil, fail(StepDecode, ErrMalformed, "a file holds exactly one proof")
	}
	s := f.State()
	if s.ChainID == "" {
		return nil, fail(StepDecode, ErrMalformed, "no chain_id")
	}
	if s.Height < 1 || s.HeaderHeight != s.Height+1 {
		return nil, fail(StepDecode, ErrMalformed, "height %d, header_height %d: want header_height = height+1",
			s.Height, s.HeaderHeight)
	}
	sh, err := LightVerify(ctx, s.ChainID, trust, primary, witnesses, s.HeaderHeight, now)
	if err != nil {
		return nil, err
	}
	if sh.ChainID != s.ChainID {
		return nil, fail(StepHeader, ErrChainID, "header of %q, file of %q", sh.ChainID, s.ChainID)
	}
	if !bytes.Equal(sh.AppHash, s.AppHash) {
		return nil, fail(StepHeader, ErrAppHash, "header %d has %x, file has %x", sh.Height, []byte(sh.AppHash), []byte(s.AppHash))
	}
	r := &Result{Header: sh}
	if f.UTXO != nil {
		r.UTXO, err = VerifyUTXO(f.UTXO, sh.AppHash)
	} else {
		r.Reserves, err = VerifyReserves(f.Reserves, sh.AppHash)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}
