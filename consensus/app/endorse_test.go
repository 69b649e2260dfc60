package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/muhash"
	uquery "github.com/satnode/satnode/utxo/query"
	"github.com/satnode/satnode/utxo/utxotest"
)

func mainnetRaws(t *testing.T) [][]byte {
	t.Helper()
	raws, err := utxotest.MainnetChain()
	if err != nil {
		t.Fatal(err)
	}
	return raws
}

// straightDigest imports raws[0..n] into a bare engine: the MuHash the
// endorsed chain must reach.
func straightDigest(t *testing.T, raws [][]byte) [32]byte {
	t.Helper()
	e, err := utxo.Open(memstore.New(), utxo.Config{Params: utxo.MainNet()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, raw := range raws {
		b, err := utxo.DecodeBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Connect(b); err != nil {
			t.Fatal(err)
		}
	}
	d, err := e.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEndorseMainnet: a synchronizer submits the mainnet fixture's headers,
// four equal validators endorse them, and the UTXO set reaches the same
// MuHash as a straight import; a restart from the store resumes with the
// same app hash.
func TestEndorseMainnet(t *testing.T) {
	raws := mainnetRaws(t)
	h := newHarness(t, harnessOpts{stakes: []uint64{10e6, 10e6, 10e6, 10e6},
		params: func(p *Params) { p.MaxHeadersAhead, p.MaxHeadersPerBlock = 20_000, 20_000 }})
	h.mustOK(h.submit(raws[1:])...)
	if got := h.btcTip(); got != 0 {
		t.Fatalf("the set moved to %d before any endorsement", got)
	}
	// Three of four (75%) endorse: enough.
	var txs [][]byte
	for i := 0; i < 3; i++ {
		txs = append(txs, h.endorse(i, 1, raws[1:])...)
	}
	res := h.mustOK(txs...)
	if got := h.btcTip(); got != int32(len(raws)-1) {
		t.Fatalf("tip %d after endorsement, want %d", got, len(raws)-1)
	}
	want := straightDigest(t, raws)
	got, err := h.app.engine.Digest()
	if err != nil || got != want {
		t.Fatalf("muhash %x, straight import %x (%v)", got, want, err)
	}
	// Restart: the state reloads, Info reports the last commit, and the
	// next block computes the same app hash as a node that never stopped.
	h.app.Close()
	h.app = h.open()
	if h.app.height != h.height || [32]byte(res.AppHash) != h.app.appHash {
		t.Fatalf("reloaded at %d %x, committed %d %x", h.app.height, h.app.appHash, h.height, res.AppHash)
	}
	if d, _ := h.app.engine.Digest(); d != want {
		t.Fatal("reloaded set differs")
	}
	h.mustOK()
	// The blocks that became final in the catch-up were settled at once,
	// without attendance: the fourth validator, which endorsed nothing, is
	// not jailed. Its endorsements of the recent blocks, whose windows are
	// open, are late and earn the late share when the windows close; a
	// block below the finalized base is too late, and ignored.
	if v, _ := h.app.stake.Validator(h.vals[3].op.addr); v.Jailed || v.Missed != 0 || v.Commission != 0 {
		t.Fatalf("fourth validator after the catch-up: %+v", v)
	}
	n := int32(len(raws))
	res = h.mustOK(h.endorse(3, n-3, raws[n-3:])...)
	if log := res.TxResults[0].Log; !strings.Contains(log, "3 new late") {
		t.Fatalf("late endorsements: %s", log)
	}
	res = h.mustOK(h.endorse(3, 1, raws[1:2])...)
	if log := res.TxResults[0].Log; !strings.Contains(log, "1 too late") {
		t.Fatalf("endorsing a pruned block: %s", log)
	}
	for range h.app.params.AttendanceWindow {
		h.mustOK()
	}
	if v, _ := h.app.stake.Validator(h.vals[3].op.addr); v.Jailed || v.Commission == 0 {
		t.Fatalf("fourth validator after its late endorsements: %+v", v)
	}
}

// TestStakeThreshold: 66% of the power cannot make a block canonical, 67%
// can; a delegation can tip the balance.
func TestStakeThreshold(t *testing.T) {
	raws := mainnetRaws(t)[:4]
	h := newHarness(t, harnessOpts{stakes: []uint64{66e6, 33e6, 1e6}})
	h.mustOK(h.submit(raws[1:2])...)
	h.mustOK(h.endorse(0, 1, raws[1:2])...)
	if h.btcTip() != 0 {
		t.Fatal("66% made a block canonical")
	}
	h.mustOK(h.endorse(2, 1, raws[1:2])...)
	if h.btcTip() != 1 {
		t.Fatal("67% did not make the block canonical")
	}

	// Block 2, endorsed by the 66% validator only; then the synchronizer
	// delegates 2 units of power to it: 68 of 102 is exactly two thirds.
	h.mustOK(h.submit(raws[2:3])...)
	h.mustOK(h.endorse(0, 2, raws[2:3])...)
	if h.btcTip() != 1 {
		t.Fatal("66% made block 2 canonical")
	}
	h.mustOK(h.sign(h.sync, tx.Delegate{Validator: h.vals[0].op.addr, Amount: 2e6}))
	if h.btcTip() != 2 {
		t.Fatalf("a delegation to 68/101 did not make block 2 canonical (tip %d)", h.btcTip())
	}
}

// TestByteBudget: with a budget of one byte, each satnode block applies a
// single Bitcoin block and the rest waits for the next blocks; rewards go
// to the submitter and the endorsers as the blocks' attendance windows
// close.
func TestByteBudget(t *testing.T) {
	raws := mainnetRaws(t)[:11]
	h := newHarness(t, harnessOpts{stakes: []uint64{10e6}, params: func(p *Params) { p.MaxBTCBytesPerBlock = 1 }})
	h.mustOK(h.submit(raws[1:])...)
	syncBefore, _ := h.app.stake.Account(h.sync.addr) // after its fee
	h.mustOK(h.endorse(0, 1, raws[1:])...)
	for want := int32(1); want <= 10; want++ {
		if got := h.btcTip(); got != want {
			t.Fatalf("satnode block %d: Bitcoin tip %d, want %d", h.height, got, want)
		}
		h.mustOK()
	}
	for range h.app.params.AttendanceWindow {
		h.mustOK()
	}
	syncAfter, _ := h.app.stake.Account(h.sync.addr)
	p := h.app.params
	wantSync := 10 * (p.InitialReward * uint64(p.SynchronizerShareBps) / 10_000)
	if syncAfter.Balance-syncBefore.Balance != wantSync {
		t.Fatalf("synchronizer earned %d, want %d", syncAfter.Balance-syncBefore.Balance, wantSync)
	}
	if v, _ := h.app.stake.Validator(h.vals[0].op.addr); v.Commission == 0 {
		t.Fatal("the endorsing validator earned no commission")
	}
}

// TestQueries: /btc-header tells a synchronizer which headers the chain
// has and where they stand (pending, canonical, final), and /utxo-info
// answers from the committed set, at the tip and at a past height.
func TestQueries(t *testing.T) {
	raws := mainnetRaws(t)[:300]
	h := newHarness(t, harnessOpts{stakes: []uint64{10e6, 10e6, 10e6, 10e6}})
	h.mustOK(h.submit(raws[1:])...)
	var txs [][]byte
	for i := range 3 {
		txs = append(txs, h.endorse(i, 1, raws[1:250])...)
	}
	h.mustOK(txs...)
	query := func(path string, v any) uint32 {
		t.Helper()
		res, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code == 0 {
			if err := json.Unmarshal(res.Value, v); err != nil {
				t.Fatal(err)
			}
		}
		return res.Code
	}
	hashAt := func(i int) string { return chainhash.Hash(blockHash(raws[i])).String() }
	for _, c := range []struct {
		height           int
		canonical, final bool
	}{{100, true, true}, {249, true, false}, {250, false, false}, {299, false, false}} {
		var got headerJSON
		if code := query("/btc-header/"+hashAt(c.height), &got); code != 0 {
			t.Fatalf("header %d: code %d", c.height, code)
		}
		if got.Height != int32(c.height) || got.Canonical != c.canonical || got.Final != c.final {
			t.Fatalf("header %d: %+v, want canonical %v final %v", c.height, got, c.canonical, c.final)
		}
	}
	var none headerJSON
	if code := query("/btc-header/"+chainhash.Hash{1}.String(), &none); code != uint32(tx.CodeUnknownBlock) {
		t.Fatalf("unknown header: code %d", code)
	}
	if code := query("/btc-header/xyz", &none); code != uint32(tx.CodeMalformed) {
		t.Fatalf("bad hash: code %d", code)
	}
	var info struct {
		Height int32  `json:"height"`
		MuHash string `json:"muhash"`
		TxOuts uint64 `json:"txouts"`
	}
	if code := query("/utxo-info", &info); code != 0 || info.Height != 249 {
		t.Fatalf("/utxo-info: code %d, %+v", code, info)
	}
	d, _ := h.app.engine.Digest()
	if info.MuHash != muhash.Digest(d).String() {
		t.Fatalf("/utxo-info muhash %s, engine %x", info.MuHash, d)
	}
	if code := query("/utxo-info/100", &info); code != 0 || info.Height != 100 || info.TxOuts != 100 {
		t.Fatalf("/utxo-info/100: code %d, %+v", code, info)
	}
	for _, bad := range []string{"/utxo-info/-1", "/utxo-info/x", "/utxo-info/999"} {
		if code := query(bad, &info); code == 0 {
			t.Fatalf("%s: no error", bad)
		}
	}

	// /utxo, /scripthash and /address: block 1's coinbase (P2PK, 50 BTC)
	// is unspent at 249; its vout 1 never existed.
	const cb1 = "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"
	var coin *uquery.TxOut
	if code := query("/utxo/"+cb1+":0", &coin); code != 0 || coin == nil || coin.Value != 50e8 || coin.Height != 1 ||
		!coin.Coinbase || coin.Confirmations != 249 || coin.ScriptPubKey.Type != "pubkey" {
		t.Fatalf("/utxo of block 1's coinbase: code %d, %+v", code, coin)
	}
	var spent *uquery.TxOut
	if code := query("/utxo/"+cb1+":1", &spent); code != 0 || spent != nil {
		t.Fatalf("/utxo of a missing output: code %d, %+v (want null)", code, spent)
	}
	script, _ := hex.DecodeString(coin.ScriptPubKey.Hex)
	sh := uquery.ScriptHashOf(script)
	var page uquery.ScriptHashInfo
	if code := query("/scripthash/"+hex.EncodeToString(sh[:])+"?limit=5", &page); code != 0 || page.Balance != 50e8 ||
		len(page.UTXOs) != 1 || page.UTXOs[0].TxID != cb1 || page.UTXOs[0].Status.BlockHeight != 1 || page.Next != "" {
		t.Fatalf("/scripthash of block 1's coinbase script: code %d, %+v", code, page)
	}
	// Satoshi's genesis address: its coin is not in the set.
	if code := query("/address/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", &page); code != 0 || page.Address != "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" ||
		len(page.UTXOs) != 0 || page.Balance != 0 {
		t.Fatalf("/address of the genesis address: code %d, %+v", code, page)
	}
	for path, want := range map[string]tx.Code{
		"/utxo/" + cb1:     tx.CodeMalformed,
		"/utxo/xyz:0":      tx.CodeMalformed,
		"/scripthash/abcd": tx.CodeMalformed,
		"/scripthash/" + hex.EncodeToString(sh[:]) + "?limit=0":    tx.CodeMalformed,
		"/scripthash/" + hex.EncodeToString(sh[:]) + "?limit=1001": tx.CodeMalformed,
		"/scripthash/" + hex.EncodeToString(sh[:]) + "?after=x":    tx.CodeMalformed,
		"/address/bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080":    tx.CodeInvalidAddress,
	} {
		if code := query(path, &page); code != uint32(want) {
			t.Errorf("%s: code %d, want %d (%s)", path, code, want, want)
		}
	}
}
