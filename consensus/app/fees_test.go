package app

import (
	"context"
	"strconv"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/tx"
)

func (h *harness) balance(a *actor) uint64 {
	h.t.Helper()
	acct, ok := h.app.stake.Account(a.addr)
	if !ok {
		h.t.Fatalf("no account %s", a.addr)
	}
	return acct.Balance
}

func (h *harness) checkTx(raw []byte, recheck bool) (tx.Code, string) {
	h.t.Helper()
	typ := abci.CheckTxType_New
	if recheck {
		typ = abci.CheckTxType_Recheck
	}
	res, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: typ})
	if err != nil {
		h.t.Fatal(err)
	}
	return tx.Code(res.Code), res.Log
}

// signAt signs m as a with an explicit nonce, leaving a's counter alone.
func (h *harness) signAt(a *actor, nonce uint64, m tx.Msg) []byte {
	h.t.Helper()
	env, err := tx.Sign(testChainID, a.priv, nonce, m)
	if err != nil {
		h.t.Fatal(err)
	}
	return env.Marshal()
}

// TestFees: every transaction pays fee_base + fee_per_byte × size from
// its signer, a failing one too; the result reports it; the community pool
// receives it, so the supply is unchanged.
func TestFees(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6},
		params: func(p *Params) { p.FeeBase, p.FeePerByte = 700, 3 }})
	h.mustOK()
	spender, to := h.vals[0].op, h.vals[0].endorser
	supply, pool := h.app.stake.Supply(), h.app.stake.CommunityPool()
	before, beforeTo := h.balance(spender), h.balance(to)
	ok := h.sign(spender, tx.Transfer{To: to.addr, Amount: 5})
	failing := h.sign(spender, tx.Transfer{To: to.addr, Amount: 1 << 62}) // more than it has
	res := h.block(ok, failing)
	fee := func(raw []byte) uint64 { return 700 + 3*uint64(len(raw)) }
	for i, raw := range [][]byte{ok, failing} {
		r := res.TxResults[i]
		if want := "fee=" + strconv.FormatUint(fee(raw), 10); r.Info != want {
			t.Errorf("tx %d: info %q, want %q", i, r.Info, want)
		}
		if len(r.Events) != 1 || r.Events[0].Type != "fee" || r.Events[0].Attributes[0].Value != strconv.FormatUint(fee(raw), 10) {
			t.Errorf("tx %d: events %v", i, r.Events)
		}
	}
	if tx.Code(res.TxResults[1].Code) != tx.CodeInsufficientBalance {
		t.Fatalf("the overspending transfer: %s", tx.Code(res.TxResults[1].Code))
	}
	if got, want := h.balance(spender), before-5-fee(ok)-fee(failing); got != want {
		t.Errorf("spender balance %d, want %d", got, want)
	}
	if got := h.balance(to); got != beforeTo+5 {
		t.Errorf("recipient balance %d, want %d", got, beforeTo+5)
	}
	if h.app.stake.Supply() != supply || h.app.stake.CommunityPool() != pool+fee(ok)+fee(failing) {
		t.Errorf("supply %d→%d, pool %d→%d", supply, h.app.stake.Supply(), pool, h.app.stake.CommunityPool())
	}
}

// TestMempoolNonceWindow: CheckTx admits the next MempoolNonceWindow
// nonces, refuses one further (NonceGap), a duplicate and a used nonce,
// and a fee the balance cannot pay once earlier transactions' fees and
// amounts are reserved; after a commit the recheck keeps what is still
// valid and drops what the block used.
func TestMempoolNonceWindow(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	h.mustOK()
	a := h.vals[0].op
	to := h.vals[0].endorser.addr
	var admitted [][]byte
	for n := uint64(1); n <= MempoolNonceWindow; n++ {
		raw := h.signAt(a, n, tx.Transfer{To: to, Amount: 1})
		if code, log := h.checkTx(raw, false); code != tx.CodeOK {
			t.Fatalf("nonce %d: %s %s", n, code, log)
		}
		admitted = append(admitted, raw)
	}
	if code, _ := h.checkTx(h.signAt(a, MempoolNonceWindow+1, tx.Transfer{To: to, Amount: 1}), false); code != tx.CodeNonceGap {
		t.Errorf("nonce beyond the window: %s, want NonceGap", code)
	}
	if code, _ := h.checkTx(h.signAt(a, 3, tx.Transfer{To: to, Amount: 2}), false); code != tx.CodeBadNonce {
		t.Errorf("a second tx with a nonce already in the mempool: %s, want BadNonce", code)
	}
	// The block takes the first four; the recheck keeps the others and
	// refuses the used ones.
	h.mustOK(admitted[:4]...)
	for i, raw := range admitted {
		code, _ := h.checkTx(raw, true)
		if want := tx.CodeOK; i < 4 && code != tx.CodeBadNonce || i >= 4 && code != want {
			t.Errorf("recheck of nonce %d: %s", i+1, code)
		}
	}
	// A transaction ahead of its predecessor is admitted when new, but a
	// recheck after the next block drops it while the hole remains.
	ahead := h.signAt(a, 18, tx.Transfer{To: to, Amount: 1})
	if code, log := h.checkTx(ahead, false); code != tx.CodeOK {
		t.Fatalf("nonce 18 ahead of 17: %s %s", code, log)
	}
	h.mustOK()
	for _, raw := range admitted[4:] {
		if code, log := h.checkTx(raw, true); code != tx.CodeOK {
			t.Fatalf("recheck of a contiguous nonce: %s %s", code, log)
		}
	}
	if code, _ := h.checkTx(ahead, true); code != tx.CodeNonceGap {
		t.Errorf("recheck of nonce 18 with 17 missing: %s, want NonceGap", code)
	}
	// Now nonce 4+16 = 20 is inside the window.
	if code, log := h.checkTx(h.signAt(a, 4+MempoolNonceWindow, tx.Transfer{To: to, Amount: 1}), false); code != tx.CodeOK {
		t.Errorf("nonce at the moved window's end: %s %s", code, log)
	}

	// A poor account: its balance pays one fee, not two.
	poor := newActor("poor")
	fee := h.app.params.Fee(len(h.signAt(poor, 1, tx.Transfer{To: to, Amount: 1})))
	a.nonce = 4
	h.mustOK(h.sign(a, tx.Transfer{To: poor.addr, Amount: fee + fee/2}))
	if code, log := h.checkTx(h.signAt(poor, 1, tx.Transfer{To: to, Amount: 1}), false); code != tx.CodeOK {
		t.Fatalf("first tx of the poor account: %s %s", code, log)
	}
	code, log := h.checkTx(h.signAt(poor, 2, tx.Transfer{To: to, Amount: 1}), false)
	if code != tx.CodeInsufficientFee || !strings.Contains(log, "reserved") {
		t.Errorf("second tx of the poor account: %s %s, want InsufficientFee", code, log)
	}
}

// TestProposalOrderAndCaps: PrepareProposal puts role transactions first,
// caps the others' bytes, and leaves out a nonce gap and an unpayable fee;
// ProcessProposal rejects each of those, and accepts what Prepare made.
func TestProposalOrderAndCaps(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	h.mustOK()
	ctx := context.Background()
	a, to := h.vals[0].op, h.vals[0].endorser.addr
	t1 := h.signAt(a, 1, tx.Transfer{To: to, Amount: 1})
	t2 := h.signAt(a, 2, tx.Transfer{To: to, Amount: 1})
	gap := h.signAt(a, 4, tx.Transfer{To: to, Amount: 1})
	poor := newActor("poor2")
	h.mustOK(h.sign(h.sync, tx.Transfer{To: poor.addr, Amount: 10})) // too little for any fee
	unpayable := h.signAt(poor, 1, tx.Transfer{To: to, Amount: 1})
	role := h.signAt(h.sync, h.sync.nonce+1, tx.SubmitHeaders{Headers: regtestBranch(genesisHash(), genesisTime(), 3, 'r')})

	prep, _ := h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{t1, gap, unpayable, t2, role}, MaxTxBytes: 1 << 20})
	if want := [][]byte{role, t1, t2}; !sameTxs(prep.Txs, want) {
		t.Fatalf("PrepareProposal: %d txs, want role, t1, t2", len(prep.Txs))
	}
	process := func(txs ...[]byte) abci.ResponseProcessProposal_ProposalStatus {
		res, _ := h.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs})
		return res.Status
	}
	accept, reject := abci.ResponseProcessProposal_ACCEPT, abci.ResponseProcessProposal_REJECT
	for name, c := range map[string]struct {
		txs  [][]byte
		want abci.ResponseProcessProposal_ProposalStatus
	}{
		"prepared":         {prep.Txs, accept},
		"role after other": {[][]byte{t1, role}, reject},
		"nonce gap":        {[][]byte{t1, gap}, reject},
		"used twice":       {[][]byte{t1, t1}, reject},
		"unpayable fee":    {[][]byte{unpayable}, reject},
	} {
		if got := process(c.txs...); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
	}
	// The cap on other transactions' bytes.
	h.app.params.MaxOtherTxBytes = int64(len(t1))
	prep, _ = h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{t1, t2}, MaxTxBytes: 1 << 20})
	if len(prep.Txs) != 1 {
		t.Errorf("with room for one transfer, PrepareProposal kept %d", len(prep.Txs))
	}
	if got := process(t1, t2); got != reject {
		t.Errorf("a proposal over max_other_tx_bytes: %s", got)
	}
}

func sameTxs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}
