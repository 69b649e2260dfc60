package verify

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	"github.com/cometbft/cometbft/light/store"
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

// Verifier verifies many files of one chain from one root of trust: the
// headers it has verified are kept (in memory, for its lifetime), so a
// thousand files at two heights cost two header verifications, not a
// thousand. It is safe for concurrent use; calls are serialized.
//
// What is shared between calls is only the trusted store, which holds
// nothing but headers verified from trust. Each call runs a fresh
// light.Client on it with the caller's providers: CometBFT's client drops
// or swaps a provider that misbehaves (findNewPrimary), and one file's bad
// luck must not change how the next one is checked.
type Verifier struct {
	mu        sync.Mutex
	chainID   string
	period    time.Duration
	primary   provider.Provider
	witnesses []provider.Provider
	store     store.Store
}

// NewVerifier fetches the header at trust.Height from primary, checks it
// has trust.Hash (and that the witnesses agree), and keeps it as the root
// of trust for every later call. witnesses may be empty (see LightVerify).
func NewVerifier(ctx context.Context, chainID string, trust TrustOptions, primary provider.Provider,
	witnesses []provider.Provider) (*Verifier, error) {
	if primary == nil {
		return nil, fail(StepHeader, ErrLightClient, "no primary provider")
	}
	if chainID == "" {
		return nil, fail(StepHeader, ErrLightClient, "no chain id")
	}
	if len(witnesses) == 0 {
		witnesses = []provider.Provider{primary}
	}
	v := &Verifier{chainID: chainID, period: trust.Period, primary: primary, witnesses: witnesses,
		store: lightdb.New(dbm.NewMemDB(), "")}
	// NewClient verifies the trusted header and saves it to v.store; the
	// client itself is not kept (see Verifier).
	if _, err := light.NewClient(ctx, chainID,
		light.TrustOptions{Period: trust.Period, Height: trust.Height, Hash: trust.Hash},
		primary, v.witnessList(), v.store, light.SkippingVerification(light.DefaultTrustLevel)); err != nil {
		return nil, fail(StepHeader, ErrLightClient, "from trusted height %d: %v", trust.Height, err)
	}
	return v, nil
}

// witnessList is a copy: the light client edits its slice in place.
func (v *Verifier) witnessList() []provider.Provider {
	return append([]provider.Provider(nil), v.witnesses...)
}

// ChainID is the chain the verifier checks.
func (v *Verifier) ChainID() string { return v.chainID }

// Header returns the header at height, verified by CometBFT's light
// client (skipping verification at light.DefaultTrustLevel) from the
// trusted header, or from the nearest header below it already verified:
// every step is signed by validators a trusted header made trustworthy,
// so a node that forges a header, or a whole chain, without ≥ 1/3 of the
// trusted stake is refused. A height already verified is returned from
// the store, without asking any provider. now is the verifier's clock: a
// trusted header older than the trusting period, or a header later than
// now (plus the client's 10 s drift), is refused.
func (v *Verifier) Header(ctx context.Context, height int64, now time.Time) (*types.SignedHeader, error) {
	if height < 1 {
		return nil, fail(StepHeader, ErrMalformed, "height %d", height)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	c, err := light.NewClientFromTrustedStore(v.chainID, v.period, v.primary, v.witnessList(), v.store,
		light.SkippingVerification(light.DefaultTrustLevel))
	if err != nil {
		return nil, fail(StepHeader, ErrLightClient, "%v", err)
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

// Verify checks a file end to end: the file must be of the verifier's
// chain, the light client verifies the header at the file's
// header_height (Header), the header must be of that chain with the
// file's app hash, and the file must prove what it claims against that
// app hash (VerifyUTXO, VerifyReserves).
func (v *Verifier) Verify(ctx context.Context, f *File, now time.Time) (*Result, error) {
	s, err := checkFile(f)
	if err != nil {
		return nil, err
	}
	if s.ChainID != v.chainID {
		return nil, fail(StepHeader, ErrChainID, "a file of chain %q, this verifier checks %q", s.ChainID, v.chainID)
	}
	sh, err := v.Header(ctx, s.HeaderHeight, now)
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

// checkFile is the shape Verify needs before it asks for a header.
func checkFile(f *File) (*State, error) {
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
	return s, nil
}

// LightVerify returns the header at height, verified from trust (see
// Verifier.Header) by a verifier that lives for this call only.
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
	v, err := NewVerifier(ctx, chainID, trust, primary, witnesses)
	if err != nil {
		return nil, err
	}
	return v.Header(ctx, height, now)
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

// Verify checks one file end to end from trust, with a Verifier that
// lives for this call only (see Verifier.Verify); to check many files,
// make one Verifier. witnesses may be empty (see LightVerify).
func Verify(ctx context.Context, f *File, trust TrustOptions, primary provider.Provider,
	witnesses []provider.Provider, now time.Time) (*Result, error) {
	s, err := checkFile(f)
	if err != nil {
		return nil, err
	}
	v, err := NewVerifier(ctx, s.ChainID, trust, primary, witnesses)
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, f, now)
}
