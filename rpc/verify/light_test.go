package verify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/light/provider"
	"github.com/cometbft/cometbft/light/provider/mock"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
)

// privKeys, toValidators, signHeader, makeVote and genHeader are copied,
// trimmed, from CometBFT v0.38.26 light/helpers_test.go (Apache-2.0),
// which does not export them: a validator set of ed25519 keys that signs
// headers as consensus would.
type privKeys []crypto.PrivKey

func genPrivKeys(n int) privKeys {
	res := make(privKeys, n)
	for i := range res {
		res[i] = ed25519.GenPrivKey()
	}
	return res
}

func (pkz privKeys) toValidators(power int64) *types.ValidatorSet {
	res := make([]*types.Validator, len(pkz))
	for i, k := range pkz {
		res[i] = types.NewValidator(k.PubKey(), power)
	}
	return types.NewValidatorSet(res)
}

// signHeader signs header with keys [first, last).
func (pkz privKeys) signHeader(header *types.Header, valSet *types.ValidatorSet, first, last int) *types.Commit {
	commitSigs := make([]types.CommitSig, len(pkz))
	for i := range pkz {
		commitSigs[i] = types.NewCommitSigAbsent()
	}
	blockID := types.BlockID{
		Hash:          header.Hash(),
		PartSetHeader: types.PartSetHeader{Total: 1, Hash: crypto.CRandBytes(32)},
	}
	for i := first; i < last && i < len(pkz); i++ {
		vote := makeVote(header, valSet, pkz[i], blockID)
		commitSigs[vote.ValidatorIndex] = vote.CommitSig()
	}
	return &types.Commit{Height: header.Height, Round: 1, BlockID: blockID, Signatures: commitSigs}
}

func makeVote(header *types.Header, valset *types.ValidatorSet, key crypto.PrivKey, blockID types.BlockID) *types.Vote {
	addr := key.PubKey().Address()
	idx, _ := valset.GetByAddress(addr)
	vote := &types.Vote{
		ValidatorAddress: addr,
		ValidatorIndex:   idx,
		Height:           header.Height,
		Round:            1,
		Timestamp:        header.Time,
		Type:             cmtproto.PrecommitType,
		BlockID:          blockID,
	}
	sig, err := key.Sign(types.VoteSignBytes(header.ChainID, vote.ToProto()))
	if err != nil {
		panic(err)
	}
	vote.Signature = sig
	return vote
}

func genHeader(chainID string, height int64, bTime time.Time, valset, nextValset *types.ValidatorSet, appHash []byte) *types.Header {
	return &types.Header{
		Version:            cmtversion.Consensus{Block: version.BlockProtocol, App: 0},
		ChainID:            chainID,
		Height:             height,
		Time:               bTime,
		ValidatorsHash:     valset.Hash(),
		NextValidatorsHash: nextValset.Hash(),
		DataHash:           types.Txs(nil).Hash(),
		AppHash:            appHash,
		ConsensusHash:      tmhash.Sum([]byte("cons_hash")),
		LastResultsHash:    tmhash.Sum([]byte("results_hash")),
		ProposerAddress:    valset.Validators[0].Address,
	}
}

// chain is a CometBFT chain of signed headers, served by mock providers.
type chain struct {
	headers map[int64]*types.SignedHeader
	vals    map[int64]*types.ValidatorSet
}

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newChain signs heights 1..n with keys; appHashes[h] is header h's app
// hash (a filler otherwise).
func newChain(n int64, keys privKeys, appHashes map[int64][]byte) *chain {
	c := &chain{headers: make(map[int64]*types.SignedHeader), vals: make(map[int64]*types.ValidatorSet)}
	vals := keys.toValidators(10)
	for h := int64(1); h <= n; h++ {
		c.add(keys, vals, h, appHashes[h], len(keys))
	}
	return c
}

// add (re)signs header h with the first signers of keys, vals its set.
func (c *chain) add(keys privKeys, vals *types.ValidatorSet, h int64, appHash []byte, signers int) {
	if appHash == nil {
		appHash = tmhash.Sum([]byte("app_hash"))
	}
	hdr := genHeader(testChainID, h, genesisTime.Add(time.Duration(h)*time.Minute), vals, vals, appHash)
	if prev, ok := c.headers[h-1]; ok {
		hdr.LastBlockID = types.BlockID{Hash: prev.Hash()}
	}
	c.headers[h] = &types.SignedHeader{Header: hdr, Commit: keys.signHeader(hdr, vals, 0, signers)}
	c.vals[h] = vals
}

func (c *chain) copy() *chain {
	d := &chain{headers: make(map[int64]*types.SignedHeader), vals: make(map[int64]*types.ValidatorSet)}
	for h := range c.headers {
		d.headers[h], d.vals[h] = c.headers[h], c.vals[h]
	}
	return d
}

func (c *chain) provider() provider.Provider { return mock.New(testChainID, c.headers, c.vals) }

func (c *chain) trust() TrustOptions {
	return TrustOptions{Height: 1, Hash: c.headers[1].Hash(), Period: 24 * time.Hour}
}

func TestLightVerify(t *testing.T) {
	ctx := context.Background()
	now := genesisTime.Add(time.Hour)
	// The honest state is committed at height 4, so header 5 carries its
	// app hash; the reserves file's state is that of height 2.
	f := newFixture(t, 12, 50, nil)
	f.height = 4
	rf, rp, _ := reservesFixture(t)
	rf.height = 2
	rp.State = rf.state(t)
	keys := genPrivKeys(4)
	honest := newChain(6, keys, map[int64][]byte{5: f.appHash[:], 3: rf.appHash[:]})
	utxoFile := &File{UTXO: f.utxoProof(t, f.ops[0])}

	sh, err := LightVerify(ctx, testChainID, honest.trust(), honest.provider(), nil, 5, now)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Height != 5 || string(sh.AppHash) != string(f.appHash[:]) {
		t.Fatalf("header %d app hash %x", sh.Height, sh.AppHash)
	}
	r, err := Verify(ctx, utxoFile, honest.trust(), honest.provider(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.UTXO == nil || !r.UTXO.Unspent || r.UTXO.Outpoint != f.ops[0] || r.Header.Height != 5 {
		t.Fatalf("result %+v", r)
	}
	rr, err := Verify(ctx, &File{Reserves: rp}, honest.trust(), honest.provider(), []provider.Provider{honest.copy().provider()}, now)
	if err != nil || rr.Reserves == nil || rr.Reserves.Total != rp.Total {
		t.Fatalf("reserves: %+v, %v", rr, err)
	}

	// A forged state, internally consistent (its own proofs verify
	// against its own app hash), put in header 5 by keys that are not
	// the trusted validators.
	g := newFixture(t, 13, 50, nil)
	g.height = 4
	forgedFile := &File{UTXO: g.utxoProof(t, g.ops[0])}
	if _, err := VerifyUTXO(forgedFile.UTXO, g.appHash[:]); err != nil {
		t.Fatalf("the forgery is not even self-consistent: %v", err)
	}
	otherKeys := genPrivKeys(4)
	forged := honest.copy()
	forged.add(otherKeys, otherKeys.toValidators(10), 5, g.appHash[:], len(otherKeys))
	// The same app hash signed by only one of the four trusted keys.
	weak := honest.copy()
	weak.add(keys, keys.toValidators(10), 5, g.appHash[:], 1)

	for _, tc := range []struct {
		name      string
		file      *File
		trust     TrustOptions
		primary   provider.Provider
		witnesses []provider.Provider
		now       time.Time
		want      error
	}{
		{"forged header, other keys", forgedFile, honest.trust(), forged.provider(), nil, now, ErrLightClient},
		{"forged header, honest witness", forgedFile, honest.trust(), forged.provider(), []provider.Provider{honest.provider()}, now, ErrLightClient},
		{"forged header, 1/4 of the stake", forgedFile, honest.trust(), weak.provider(), nil, now, ErrLightClient},
		{"forged file, honest header", forgedFile, honest.trust(), honest.provider(), nil, now, ErrAppHash},
		{"trust expired", utxoFile, honest.trust(), honest.provider(), nil, genesisTime.Add(48 * time.Hour), ErrLightClient},
		{"trusted hash wrong", utxoFile, TrustOptions{Height: 1, Hash: make([]byte, 32), Period: time.Hour}, honest.provider(), nil, now, ErrLightClient},
		{"no primary", utxoFile, honest.trust(), nil, nil, now, ErrLightClient},
		{"no file", &File{}, honest.trust(), honest.provider(), nil, now, ErrMalformed},
	} {
		_, err := Verify(ctx, tc.file, tc.trust, tc.primary, tc.witnesses, tc.now)
		var e *Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// A file naming another chain.
	p := f.utxoProof(t, f.ops[0])
	p.ChainID = "other-chain"
	if _, err := Verify(ctx, &File{UTXO: p}, honest.trust(), honest.provider(), nil, now); !errors.Is(err, ErrLightClient) {
		t.Errorf("other chain: %v", err)
	}
}
