package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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
// It reads the latest committed view, since it runs on the query
// connection, beside FinalizeBlock.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	res := &abci.ResponseInfo{Data: "satnode", Version: Version}
	if v, err := a.views.Acquire(); err == nil {
		if v.Height > 0 {
			res.LastBlockHeight, res.LastBlockAppHash = v.Height, bytes.Clone(v.AppHash[:])
		}
		v.Release()
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
	if _, err := a.cfg.Store.Get(keyRestore); err == nil {
		return nil, errors.New("app: the store holds an unfinished state-sync restore: enable [statesync] in config.toml " +
			"to resume it, or delete the data directory to start from genesis")
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
	a.hashVersion = r.hash
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
	gr, _ := json.Marshal(genesisRecord{ChainID: req.ChainId, Network: g.Network, Params: r.params,
		AppHashVersion: int(r.hash)})
	// The genesis record goes with the first commit, in the same batch.
	a.pendingGenesis = gr
	var vals []abci.ValidatorUpdate
	for _, v := range a.stake.ActiveValidators() {
		vals = append(vals, abci.Ed25519ValidatorUpdate(v.ConsensusKey[:], v.Power))
	}
	if a.pendingAppHash, a.pendingCommits, err = a.computeAppHash(); err != nil {
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
// this chain, passes the stateless checks, its nonce is one of the next
// MempoolNonceWindow of its account, and the account's committed balance
// pays its fee on top of what its transactions already in the mempool
// reserved. It reads only the last committed view, never the state
// FinalizeBlock is changing, so it runs while a block executes (the node
// gives the mempool its own ABCI connection). Commit clears the
// reservations and CometBFT re-runs it on every transaction left in the
// mempool (recheck), which drops those the block made stale and those
// still waiting for a missing predecessor. It never panics on any bytes.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	v, err := a.views.Acquire()
	if err != nil {
		return &abci.ResponseCheckTx{Code: uint32(tx.CodeInternal), Codespace: codespace, Log: "no committed state yet"}, nil
	}
	defer v.Release()
	env, msg, err := checkStateless(v.ChainID, req.Tx)
	if err != nil {
		return checkFail(err), nil
	}
	acct, ok, err := v.Account(env.Signer)
	if err != nil {
		return checkFail(&tx.Error{Code: tx.CodeInternal, Msg: err.Error()}), nil
	}
	if !ok {
		return checkFail(&tx.Error{Code: tx.CodeUnknownAccount, Msg: fmt.Sprintf("no account %s", env.Signer)}), nil
	}
	fee, err := a.mp.check(&v.ChainParams, acct, env, msg, len(req.Tx), req.Type == abci.CheckTxType_Recheck)
	if err != nil {
		return checkFail(err), nil
	}
	return &abci.ResponseCheckTx{Code: uint32(tx.CodeOK), Info: fmt.Sprintf("fee=%d", fee)}, nil
}

func checkFail(err error) *abci.ResponseCheckTx {
	return &abci.ResponseCheckTx{Code: uint32(tx.CodeOf(err)), Codespace: codespace, Log: err.Error()}
}

// proposalTx is a transaction of a proposal, decoded.
type proposalTx struct {
	raw  []byte
	env  *tx.Envelope
	msg  tx.Msg
	role bool
}

// PrepareProposal builds the block's transaction list from the mempool's:
// role transactions (SubmitHeaders, Endorse) first, then the others up to
// max_other_tx_bytes, all within CometBFT's byte limit, keeping only those
// ProcessProposal accepts: stateless checks pass, each signer's nonces
// follow on from its committed one without gaps, and each fee is payable
// (see ledger). Mempool order is kept within each group. A transaction
// left out stays in the mempool for a later block.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var roles, others []proposalTx
	for _, raw := range req.Txs {
		env, msg, err := checkStateless(a.chainID, raw)
		if err != nil {
			continue
		}
		p := proposalTx{raw: raw, env: env, msg: msg, role: isRole(msg)}
		if p.role {
			roles = append(roles, p)
		} else {
			others = append(others, p)
		}
	}
	l := newLedger(&a.params, a.committedAccount)
	var txs [][]byte
	var size, otherSize int64
	for _, group := range [][]proposalTx{roles, others} {
		for _, p := range group {
			n := int64(len(p.raw))
			if size+n > req.MaxTxBytes || !p.role && otherSize+n > a.params.MaxOtherTxBytes {
				continue
			}
			if _, err := l.admit(p.env, p.msg, len(p.raw), 0); err != nil {
				continue
			}
			size += n
			if !p.role {
				otherSize += n
			}
			txs = append(txs, p.raw)
		}
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal rejects a proposal that PrepareProposal could not have
// made: a transaction failing the stateless checks, a role transaction
// after another kind, more than max_other_tx_bytes of other kinds, a
// nonce that does not follow on from its signer's committed one, or a fee
// the signer cannot pay. Every transaction of an accepted block therefore
// executes with its fee paid, so none is included for free.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	reject := func(why string, args ...any) (*abci.ResponseProcessProposal, error) {
		a.log.Warn("rejecting a proposal", "height", req.Height, "proposer", fmt.Sprintf("%X", req.ProposerAddress),
			"why", fmt.Sprintf(why, args...))
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	l := newLedger(&a.params, a.committedAccount)
	var otherSize int64
	others := false
	for i, raw := range req.Txs {
		env, msg, err := checkStateless(a.chainID, raw)
		if err != nil {
			return reject("tx %d: %v", i, err)
		}
		if isRole(msg) {
			if others {
				return reject("tx %d: a %s after transactions of other kinds", i, msg.Kind())
			}
		} else {
			others = true
			if otherSize += int64(len(raw)); otherSize > a.params.MaxOtherTxBytes {
				return reject("tx %d: other transactions exceed max_other_tx_bytes %d", i, a.params.MaxOtherTxBytes)
			}
		}
		if _, err := l.admit(env, msg, len(raw), 0); err != nil {
			return reject("tx %d: %v", i, err)
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// committedAccount reads an account of the committed state. Proposals are
// prepared and processed between a Commit and the next FinalizeBlock, on
// the consensus connection, so the live state is the committed one.
func (a *App) committedAccount(addr tx.Address) (staking.Account, bool, error) {
	acct, ok := a.stake.Account(addr)
	return acct, ok, nil
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
		if r.payer != nil {
			res.TxResults[i].Info = fmt.Sprintf("fee=%d", r.fee)
			res.TxResults[i].Events = []abci.Event{{Type: "fee", Attributes: []abci.EventAttribute{
				{Key: "amount", Value: strconv.FormatUint(r.fee, 10)}, {Key: "payer", Value: r.payer.String()}}}}
		}
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
		if tx.CodeOf(err) == tx.CodeTombstoned {
			a.log.Info("double-sign evidence ignored: already tombstoned", "consensus_key", fmt.Sprintf("%X", key),
				"infraction_height", ev.Height)
			continue
		}
		if err != nil {
			a.log.Warn("double-sign evidence not applied", "err", err)
			continue
		}
		a.log.Warn("slashed for double signing", "consensus_key", fmt.Sprintf("%X", key), "burned", burned)
	}
	if a.cfg.Context != nil {
		ctx = a.cfg.Context
	}
	a.countEndorsements()
	if err := a.advance(ctx, req.Time); err != nil {
		return nil, err
	}
	if err := a.settle(req.Height, req.Time); err != nil {
		return nil, err
	}
	if err := a.finalize(); err != nil {
		return nil, err
	}
	for _, u := range a.stake.EndBlock(req.Time) {
		res.ValidatorUpdates = append(res.ValidatorUpdates, abci.Ed25519ValidatorUpdate(u.PubKey[:], u.Power))
	}
	h, c, err := a.computeAppHash()
	if err != nil {
		return nil, fmt.Errorf("%w: app hash: %v", ErrHalt, err)
	}
	a.pendingHeight, a.pendingAppHash, a.pendingCommits = req.Height, h, c
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
	a.height, a.appHash, a.commits = a.pendingHeight, a.pendingAppHash, a.pendingCommits
	if err := a.publishView(a.blockTime); err != nil {
		return nil, fmt.Errorf("%w: publish the committed state: %v", ErrHalt, err)
	}
	// The recheck that follows rebuilds the reservations from the new
	// view.
	a.mp.reset()
	if a.cfg.OnCommit != nil {
		a.cfg.OnCommit(a.height)
	}
	a.maybeSnapshot()
	return &abci.ResponseCommit{}, nil
}

// Vote extensions are not used; state sync is in snapshot.go and restore.go.

func (a *App) ExtendVote(context.Context, *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	return &abci.ResponseExtendVote{}, nil
}

func (a *App) VerifyVoteExtension(context.Context, *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}
