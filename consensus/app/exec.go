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
	// headersAdded counts the headers the block's transactions added so
	// far, against max_headers_per_block.
	headersAdded int64
}

// result is one transaction's outcome: a code (tx.CodeOK or a rejection)
// and a log line.
type result struct {
	code tx.Code
	log  string
	// fee is what payer paid; payer is nil when the transaction was
	// refused before its fee (bad bytes, signature, nonce, or a fee the
	// account cannot pay).
	fee   uint64
	payer *tx.Address
}

func fail(err error) result {
	return result{code: tx.CodeOf(err), log: err.Error()}
}

// checkStateless decodes and verifies a transaction for chainID without
// reading state: what CheckTx and the proposal checks start with.
func checkStateless(chainID string, raw []byte) (*tx.Envelope, tx.Msg, error) {
	env, err := tx.Unmarshal(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := env.Verify(chainID); err != nil {
		return nil, nil, err
	}
	msg, err := env.Msg()
	if err != nil {
		return nil, nil, err
	}
	return env, msg, nil
}

// deliver executes one transaction of a block. A transaction whose
// signature and nonce are good and whose signer can pay the fee uses its
// nonce and pays the fee even if its message is then rejected, so a
// rejected transaction can be neither replayed nor sent for free.
func (a *App) deliver(bc *blockCtx, raw []byte) result {
	env, msg, err := checkStateless(a.chainID, raw)
	if err != nil {
		return fail(err)
	}
	fee := a.params.Fee(len(raw))
	if err := a.stake.BeginTx(env.Signer, env.Nonce, fee); err != nil {
		return fail(err)
	}
	signer := env.Signer
	log, err := a.execute(bc, env.Signer, msg)
	if err != nil {
		r := fail(err)
		r.fee, r.payer = fee, &signer
		return r
	}
	return result{code: tx.CodeOK, log: log, fee: fee, payer: &signer}
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
//
// Two caps bound the tree, whatever the submitters do: no header more than
// max_headers_ahead above the canonical tip, and no more than
// max_headers_per_block headers added by all the block's transactions
// together. A header refused by a cap is not wrong, only early: the
// synchronizer submits it again once the tip has moved.
func (a *App) submitHeaders(bc *blockCtx, signer tx.Address, m tx.SubmitHeaders) (string, error) {
	if !a.stake.IsSynchronizer(signer) {
		return "", &tx.Error{Code: tx.CodeUnregisteredSynchronizer, Msg: fmt.Sprintf("%s is not a registered synchronizer", signer)}
	}
	tipHeight, _, _ := a.engine.Tip()
	ceiling := int64(tipHeight) + int64(a.params.MaxHeadersAhead)
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
		if parent, ok := a.tree.Get(h.PrevBlock); ok && int64(parent.Height())+1 > ceiling {
			return "", &tx.Error{Code: tx.CodeTooFarAhead, Msg: fmt.Sprintf("header %d of %d (%s) at %d is more than max_headers_ahead %d above the canonical tip %d, after adding %d",
				i, len(m.Headers), h.BlockHash(), parent.Height()+1, a.params.MaxHeadersAhead, tipHeight, added)}
		}
		if bc.headersAdded >= int64(a.params.MaxHeadersPerBlock) {
			return "", &tx.Error{Code: tx.CodeBlockHeaderLimit, Msg: fmt.Sprintf("header %d of %d (%s): this block already added max_headers_per_block %d headers, after adding %d",
				i, len(m.Headers), h.BlockHash(), a.params.MaxHeadersPerBlock, added)}
		}
		n, err := a.tree.Add(h, bc.time)
		if err != nil {
			return "", fmt.Errorf("header %d of %d (%s), after adding %d: %w", i, len(m.Headers), h.BlockHash(), added, headerErr(err))
		}
		a.recs.put(&blockRec{height: n.Height(), hash: n.Hash(), submitter: signer})
		bc.headersAdded++
		added++
	}
	return fmt.Sprintf("added %d headers, %d already known", added, known), nil
}

// endorse records a validator's endorsements. Only a bonded, active,
// unjailed validator may endorse (CodeNotActive): no other's endorsement
// would count toward 2/3 or earn. An item for a block not yet canonical is
// on time, one for a block canonical but not settled is late (attendance.go);
// an item for a settled block, or at or below the finalized base, is too
// late and ignored, so one stale item does not fail a batch. Every item
// is checked before any is recorded: the transaction applies whole or not
// at all.
func (a *App) endorse(signer tx.Address, m tx.Endorse) (string, error) {
	v, ok := a.stake.ValidatorByEndorser(signer)
	if !ok {
		return "", &tx.Error{Code: tx.CodeNotEndorser, Msg: fmt.Sprintf("%s is no validator's endorser key", signer)}
	}
	if a.stake.Power(v.Operator) == 0 {
		return "", &tx.Error{Code: tx.CodeNotActive, Msg: fmt.Sprintf("validator %s is not bonded, active and unjailed", v.Operator)}
	}
	base := a.tree.Base().Height()
	recs := make([]*blockRec, 0, len(m.Items))
	tooLate := 0
	for _, it := range m.Items {
		if int64(it.Height) <= int64(base) {
			// Final: its record is settled and gone, or it is the base,
			// which needs no endorsement.
			tooLate++
			continue
		}
		n, ok := a.tree.Get(it.Hash)
		r := a.recs.m[it.Hash]
		if !ok || n.Height() != int32(it.Height) || r == nil {
			return "", &tx.Error{Code: tx.CodeUnknownBlock, Msg: fmt.Sprintf("no header %s at height %d", it.Hash, it.Height)}
		}
		if r.paid {
			tooLate++
			continue
		}
		recs = append(recs, r)
	}
	onTime, late := 0, 0
	for _, r := range recs {
		added, isLate := r.addEndorser(v.Operator)
		switch {
		case !added:
			continue
		case isLate:
			late++
		default:
			onTime++
		}
		a.recs.touch(r)
	}
	return fmt.Sprintf("%d endorsements: %d new on time, %d new late, %d too late", len(m.Items), onTime, late, tooLate), nil
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
