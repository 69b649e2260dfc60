package app

import (
	"context"
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/tx"
)

// TestProposalChecks: CheckTx and ProcessProposal refuse what cannot
// execute; PrepareProposal drops it.
func TestProposalChecks(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	ctx := context.Background()
	h.mustOK() // CheckTx reads the last committed state
	good := h.sign(h.sync, tx.Transfer{To: h.vals[0].op.addr, Amount: 1})
	bad := append([]byte{}, good...)
	bad[len(bad)-1] ^= 1
	for _, c := range []struct {
		raw  []byte
		code tx.Code
	}{{good, tx.CodeOK}, {bad, tx.CodeBadSignature}, {nil, tx.CodeMalformed}, {[]byte("garbage"), tx.CodeMalformed}} {
		res, err := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: c.raw})
		if err != nil || tx.Code(res.Code) != c.code {
			t.Fatalf("CheckTx: %v %v, want %s", res, err, c.code)
		}
	}
	pp, _ := h.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{good, bad}})
	if pp.Status != abci.ResponseProcessProposal_REJECT {
		t.Fatal("a proposal with a badly signed tx was accepted")
	}
	prep, _ := h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{bad, good}, MaxTxBytes: 1 << 20})
	if len(prep.Txs) != 1 {
		t.Fatalf("PrepareProposal kept %d txs", len(prep.Txs))
	}
	h.mustOK(good)
	// Committed nonce: the same tx is now stale for the mempool.
	if res, _ := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: good}); tx.Code(res.Code) != tx.CodeBadNonce {
		t.Fatalf("CheckTx of a used nonce: %s", tx.Code(res.Code))
	}
}

// TestDoubleSignEvidence: CometBFT's duplicate-vote evidence slashes the
// validator, whose power falls, and jails it: it leaves the set (a power-0
// update).
func TestDoubleSignEvidence(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6}})
	h.mustOK()
	k := h.vals[1]
	before := h.app.stake.Power(k.op.addr)
	addr := sha256.Sum256(k.cons)
	h.height++
	res, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: h.now,
		Misbehavior: []abci.Misbehavior{{Type: abci.MisbehaviorType_DUPLICATE_VOTE, Validator: abci.Validator{Address: addr[:20], Power: before},
			Height: h.height - 1, Time: h.now}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	v, _ := h.app.stake.Validator(k.op.addr)
	if !v.Jailed || v.Tokens >= 10e6 {
		t.Fatalf("after evidence: jailed %v tokens %d", v.Jailed, v.Tokens)
	}
	found := false
	for _, u := range res.ValidatorUpdates {
		if string(u.PubKey.GetEd25519()) == string(k.cons) {
			found = u.Power == 0
		}
	}
	if !found {
		t.Fatalf("no power-0 update for the slashed validator: %v", res.ValidatorUpdates)
	}
}

// FuzzCheckTx: no bytes make CheckTx (new or recheck) or ProcessProposal
// panic or fail.
func FuzzCheckTx(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
		h.mustOK() // CheckTx reads the committed state
		for _, typ := range []abci.CheckTxType{abci.CheckTxType_New, abci.CheckTxType_Recheck} {
			if _, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: typ}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Txs: [][]byte{raw}}); err != nil {
			t.Fatal(err)
		}
	})
}
