package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/tx"
)

// blockCtx is what executing a transaction may read of its CometBFT block:
// its height and time, never the local clock.
type blockCtx struct {
	height int64
	time   time.Time
}

// result is one transaction's outcome: a code (tx.CodeOK or a rejection)
// and a log line.
type result struct {
	code tx.Code
	log  string
}

func fail(err error) result {
	return result{code: tx.CodeOf(err), log: err.Error()}
}

// checkStateless decodes and verifies a transaction without reading state:
// what CheckTx and ProcessProposal rely on.
func (a *App) checkStateless(raw []byte) (*tx.Envelope, tx.Msg, error) {
	env, err := tx.Unmarshal(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := env.Verify(a.chainID); err != nil {
		return nil, nil, err
	}
	msg, err := env.Msg()
	if err != nil {
		return nil, nil, err
	}
	return env, msg, nil
}

// deliver executes one transaction of a block. A transaction whose
// signature and nonce are good uses its nonce even if its message is then
// rejected, so a rejected transaction cannot be replayed.
func (a *App) deliver(bc *blockCtx, raw []byte) result {
	env, msg, err := a.checkStateless(raw)
	if err != nil {
		return fail(err)
	}
	if err := a.stake.CheckAndBumpNonce(env.Signer, env.Nonce); err != nil {
		return fail(err)
	}
	log, err := a.execute(bc, env.Signer, msg)
	if err != nil {
		return fail(err)
	}
	return result{code: tx.CodeOK, log: log}
}

func (a *App) execute(bc *blockCtx, signer tx.Address, msg tx.Msg) (string, error) {
	s := a.stake
	switch m := msg.(type) {
	case tx.Transfer:
		return "", s.Transfer(signer, m)
	case tx.CreateValidator:
		return "", s.CreateValidator(signer, m)
	case tx.Delegate:
		return "", s.Delegate(signer, m)
	case tx.Undelegate:
		return "", s.Undelegate(signer, m, bc.height, bc.time)
	case tx.RegisterSynchronizer:
		return "", s.RegisterSynchronizer(signer, m)
	case tx.Unjail:
		return "", s.Unjail(signer, bc.time)
	case tx.WithdrawRewards:
		n, err := s.WithdrawRewards(signer, m)
		return fmt.Sprintf("withdrew %d", n), err
	case tx.SubmitHeaders:
		return a.submitHeaders(bc, signer, m)
	case tx.Endorse:
		return a.endorse(signer, m)
	default:
		return "", &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("no handler for %T", msg)}
	}
}

// submitHeaders adds a synchronizer's headers to the tree in order. Headers
// already in the tree are skipped (synchronizers race to submit the same
// blocks; only the first is credited). The first header the rules refuse
// ends the transaction with its code; the headers before it stay added,
// each having passed every rule on its own.
func (a *App) submitHeaders(bc *blockCtx, signer tx.Address, m tx.SubmitHeaders) (string, error) {
	if !a.stake.IsSynchronizer(signer) {
		return "", &tx.Error{Code: tx.CodeUnregisteredSynchronizer, Msg: fmt.Sprintf("%s is not a registered synchronizer", signer)}
	}
	added, known := 0, 0
	for i := range m.Headers {
		h, err := parseHeader(m.Headers[i][:])
		if err != nil {
			return "", err
		}
		if _, ok := a.tree.Get(h.BlockHash()); ok {
			known++
			continue
		}
		n, err := a.tree.Add(h, bc.time)
		if err != nil {
			return "", fmt.Errorf("header %d of %d (%s), after adding %d: %w", i, len(m.Headers), h.BlockHash(), added, headerErr(err))
		}
		a.recs.put(&blockRec{height: n.Height(), hash: n.Hash(), submitter: signer})
		added++
	}
	return fmt.Sprintf("added %d headers, %d already known", added, known), nil
}

// endorse records a validator's endorsements. All items are checked before
// any is recorded: the transaction applies whole or not at all.
func (a *App) endorse(signer tx.Address, m tx.Endorse) (string, error) {
	v, ok := a.stake.ValidatorByEndorser(signer)
	if !ok {
		return "", &tx.Error{Code: tx.CodeNotEndorser, Msg: fmt.Sprintf("%s is no validator's endorser key", signer)}
	}
	recs := make([]*blockRec, len(m.Items))
	for i, it := range m.Items {
		n, ok := a.tree.Get(it.Hash)
		if !ok || n.Height() != int32(it.Height) {
			return "", &tx.Error{Code: tx.CodeUnknownBlock, Msg: fmt.Sprintf("no header %s at height %d", it.Hash, it.Height)}
		}
		r := a.recs.m[it.Hash]
		if r == nil {
			// The base itself: it is final and needs no endorsement.
			return "", &tx.Error{Code: tx.CodeBelowFinalized, Msg: fmt.Sprintf("%s at %d is the finalized base", it.Hash, it.Height)}
		}
		recs[i] = r
	}
	fresh := 0
	for _, r := range recs {
		if r.addEndorser(v.Operator) {
			r.dirty = true
			fresh++
		}
	}
	return fmt.Sprintf("%d endorsements, %d new", len(recs), fresh), nil
}

// headerErr maps the header tree's rule errors onto transaction codes.
func headerErr(err error) error {
	var re btcheaders.RuleError
	if !errors.As(err, &re) {
		return &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
	}
	code := tx.CodeBadHeader
	switch re.Code {
	case btcheaders.ErrUnknownParent:
		code = tx.CodeUnknownParent
	case btcheaders.ErrDuplicate:
		code = tx.CodeDuplicateHeader
	case btcheaders.ErrBadPoW:
		code = tx.CodeBadPoW
	case btcheaders.ErrWrongBits:
		code = tx.CodeWrongBits
	case btcheaders.ErrTimeTooOld:
		code = tx.CodeTimeTooOld
	case btcheaders.ErrTimeTooNew:
		code = tx.CodeTimeTooNew
	case btcheaders.ErrBadCheckpoint:
		code = tx.CodeBadCheckpoint
	case btcheaders.ErrBelowFinalized:
		code = tx.CodeBelowFinalized
	}
	return &tx.Error{Code: code, Msg: re.Error()}
}
