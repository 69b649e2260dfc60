package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/muhash"
)

var _ abci.Application = (*App)(nil)

// codespace names satnode's codes in CometBFT's results.
const codespace = "satnode"

// Version is reported in Info.
const Version = "0.1.0"

// Info reports the last committed height and app hash, so CometBFT's
// handshake replays whatever blocks the application has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	res := &abci.ResponseInfo{Data: "satnode", Version: Version, LastBlockHeight: a.height}
	if a.height > 0 {
		res.LastBlockAppHash = a.appHash[:]
	}
	return res, nil
}

// InitChain builds the initial state from the genesis app_state: staking,
// the header tree at its start point, and the UTXO set with the network's
// genesis block connected. It returns the initial validator set; CometBFT
// then checks it against genesis.json's validators, if any are listed.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	if a.engine != nil {
		return nil, errors.New("app: InitChain on a store that already has a chain")
	}
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	r, err := g.resolve()
	if err != nil {
		return nil, err
	}
	if err := tx.ValidateChainID(req.ChainId); err != nil {
		return nil, fmt.Errorf("app: chain id: %w", err)
	}
	if a.stake, err = staking.InitGenesis(r.staking, prefixStaking); err != nil {
		return nil, err
	}
	if a.tree, err = btcheaders.New(r.utxo.Chain, r.start, prefixHeaders); err != nil {
		return nil, fmt.Errorf("%w: start: %v", ErrGenesis, err)
	}
	if a.engine, err = a.openEngine(r.utxo, r.params); err != nil {
		return nil, err
	}
	if err := a.startUTXO(r); err != nil {
		return nil, err
	}
	a.recs = newRecords()
	a.chainID, a.params = req.ChainId, r.params
	gr, _ := json.Marshal(genesisRecord{ChainID: req.ChainId, Network: g.Network, Params: r.params})
	// The genesis record goes with the first commit, in the same batch.
	a.pendingGenesis = gr
	var vals []abci.ValidatorUpdate
	for _, v := range a.stake.ActiveValidators() {
		vals = append(vals, abci.Ed25519ValidatorUpdate(v.ConsensusKey[:], v.Power))
	}
	if a.pendingAppHash, err = a.computeAppHash(); err != nil {
		return nil, err
	}
	return &abci.ResponseInitChain{Validators: vals, AppHash: a.pendingAppHash[:]}, nil
}

// startUTXO brings the UTXO set to the start point: at height 0 it
// connects the network's genesis block to an empty store; above 0 the
// store must already hold the set at the start header, imported offline,
// with the MuHash genesis names.
func (a *App) startUTXO(r *resolved) error {
	height, hash, ok := a.engine.Tip()
	if r.start.Height == 0 {
		if ok {
			return fmt.Errorf("%w: the store already holds a UTXO set (tip %d); a chain starting at 0 needs an empty one", ErrGenesis, height)
		}
		return a.connectGenesis(r.utxo.Chain)
	}
	want := a.tree.Base()
	if !ok || height != want.Height() || hash != want.Hash() {
		return fmt.Errorf("%w: the chain starts at Bitcoin block %d (%s): import it first with `satnode import --stop-height %d` into this home (the store's tip is %d %s)",
			ErrGenesis, want.Height(), want.Hash(), want.Height(), height, hash)
	}
	d, err := a.engine.Digest()
	if err != nil {
		return err
	}
	if d != r.muhash {
		return fmt.Errorf("%w: the imported UTXO set at %d has MuHash %s, genesis says %s",
			ErrGenesis, height, muhash.Digest(d), muhash.Digest(r.muhash))
	}
	return nil
}

func (a *App) connectGenesis(p *chaincfg.Params) error {
	var buf bytes.Buffer
	if err := p.GenesisBlock.Serialize(&buf); err != nil {
		return err
	}
	blk, err := utxo.DecodeBlock(buf.Bytes())
	if err != nil {
		return err
	}
	_, err = a.engine.Connect(blk)
	a.elapsed = append(a.elapsed, 0) // beside its change, which OnBlock added
	return err
}

// CheckTx admits a transaction to the mempool if it decodes, is signed for
// this chain, passes the stateless checks, and its nonce is above the
// account's last used one (later nonces may wait in the mempool behind
// earlier ones). It never panics on any bytes.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if a.stake == nil {
		return &abci.ResponseCheckTx{Code: uint32(tx.CodeInternal), Codespace: codespace, Log: "no chain yet"}, nil
	}
	env, _, err := a.checkStateless(req.Tx)
	if err != nil {
		return checkFail(err), nil
	}
	acct, ok := a.stake.Account(env.Signer)
	if !ok {
		return checkFail(&tx.Error{Code: tx.CodeUnknownAccount, Msg: fmt.Sprintf("no account %s", env.Signer)}), nil
	}
	if env.Nonce <= acct.Nonce {
		return checkFail(&tx.Error{Code: tx.CodeBadNonce, Msg: fmt.Sprintf("nonce %d is used: the account's last is %d", env.Nonce, acct.Nonce)}), nil
	}
	return &abci.ResponseCheckTx{Code: uint32(tx.CodeOK)}, nil
}

func checkFail(err error) *abci.ResponseCheckTx {
	return &abci.ResponseCheckTx{Code: uint32(tx.CodeOf(err)), Codespace: codespace, Log: err.Error()}
}

// PrepareProposal keeps the transactions that pass the stateless checks,
// in mempool order, within the byte limit.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var txs [][]byte
	var size int64
	for _, raw := range req.Txs {
		if _, _, err := a.checkStateless(raw); err != nil {
			continue
		}
		if size+int64(len(raw)) > req.MaxTxBytes {
			break
		}
		size += int64(len(raw))
		txs = append(txs, raw)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal rejects a proposal that carries a transaction failing
// the stateless checks: an honest proposer never includes one.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	for _, raw := range req.Txs {
		if _, _, err := a.checkStateless(raw); err != nil {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the block's transactions in order, applies
// misbehaviour evidence, counts endorsements, moves the UTXO set along the
// canonical chain, matures unbondings and returns validator updates and
// the app hash. An error halts the node: it is returned only for the
// conditions of ErrHalt, never for a bad transaction.
func (a *App) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	if a.stake == nil {
		return nil, errors.New("app: FinalizeBlock before InitChain")
	}
	bc := &blockCtx{height: req.Height, time: req.Time}
	a.blockTime = req.Time
	res := &abci.ResponseFinalizeBlock{TxResults: make([]*abci.ExecTxResult, len(req.Txs))}
	for i, raw := range req.Txs {
		r := a.deliver(bc, raw)
		res.TxResults[i] = &abci.ExecTxResult{Code: uint32(r.code), Log: r.log}
		if r.code != tx.CodeOK {
			res.TxResults[i].Codespace = codespace
		}
	}
	for _, ev := range req.Misbehavior {
		if ev.Type != abci.MisbehaviorType_DUPLICATE_VOTE {
			continue
		}
		key, ok := a.consensusKeyOf(ev.Validator.Address)
		if !ok {
			a.log.Warn("evidence against an unknown validator", "address", fmt.Sprintf("%X", ev.Validator.Address))
			continue
		}
		burned, err := a.stake.SlashDoubleSign(key, ev.Height, req.Time)
		if err != nil {
			a.log.Warn("double-sign evidence not applied", "err", err)
			continue
		}
		a.log.Warn("slashed for double signing", "consensus_key", fmt.Sprintf("%X", key), "burned", burned)
	}
	a.countEndorsements()
	if err := a.advance(ctx, req.Time); err != nil {
		return nil, err
	}
	if err := a.finalize(); err != nil {
		return nil, err
	}
	for _, u := range a.stake.EndBlock(req.Time) {
		res.ValidatorUpdates = append(res.ValidatorUpdates, abci.Ed25519ValidatorUpdate(u.PubKey[:], u.Power))
	}
	h, err := a.computeAppHash()
	if err != nil {
		return nil, fmt.Errorf("%w: app hash: %v", ErrHalt, err)
	}
	a.pendingHeight, a.pendingAppHash = req.Height, h
	res.AppHash = h[:]
	return res, nil
}

// consensusKeyOf finds the validator whose CometBFT address (the first 20
// bytes of sha256 of its ed25519 key) is addr.
func (a *App) consensusKeyOf(addr []byte) ([32]byte, bool) {
	for _, v := range a.stake.Validators() {
		sum := sha256.Sum256(v.ConsensusKey[:])
		if string(sum[:20]) == string(addr) {
			return v.ConsensusKey, true
		}
	}
	return [32]byte{}, false
}

// Commit writes everything FinalizeBlock changed in one atomic update.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	if a.engine == nil {
		return nil, errors.New("app: Commit before InitChain")
	}
	if err := a.commit(a.pendingHeight, a.pendingAppHash); err != nil {
		return nil, fmt.Errorf("%w: commit: %v", ErrHalt, err)
	}
	a.height, a.appHash = a.pendingHeight, a.pendingAppHash
	if err := a.publishView(a.blockTime); err != nil {
		return nil, fmt.Errorf("%w: publish the committed state: %v", ErrHalt, err)
	}
	if a.cfg.OnCommit != nil {
		a.cfg.OnCommit(a.height)
	}
	return &abci.ResponseCommit{}, nil
}

// Vote extensions and state sync are not used.

func (a *App) ExtendVote(context.Context, *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	return &abci.ResponseExtendVote{}, nil
}

func (a *App) VerifyVoteExtension(context.Context, *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	return &abci.ResponseListSnapshots{}, nil
}

func (a *App) OfferSnapshot(context.Context, *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
}

func (a *App) LoadSnapshotChunk(context.Context, *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	return &abci.ResponseLoadSnapshotChunk{}, nil
}

func (a *App) ApplySnapshotChunk(context.Context, *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
}
