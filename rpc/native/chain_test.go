package native_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/query"
)

// newChain is a regtest chain of 120 blocks with room for 30 more.
func newChain(t *testing.T, cfg chaingen.Config) *rpctest.Chain {
	t.Helper()
	cfg.Blocks = 150
	return rpctest.New(t, cfg, 120)
}

func TestNoViewYet(t *testing.T) {
	_, srv := serve(t, &app.Views{}, native.Options{})
	for _, p := range []string{"/v1/status", "/v1/utxo/" + strings.Repeat("ab", 32) + "/0", "/v1/endorsements",
		"/v1/validators", "/v1/synchronizers", "/v1/block/0/stats", "/v1/utxo/zz/0"} {
		h, _ := get(t, srv, p, http.StatusServiceUnavailable, nil)
		if h.Get(stamp.HeaderHeight) != "" {
			t.Errorf("%s: stamped without a view", p)
		}
	}
	// Unknown paths are unknown whatever the state.
	get(t, srv, "/v1/nothing", http.StatusNotFound, nil)
	// The stream needs no state, but a websocket handshake.
	get(t, srv, "/v1/stream", http.StatusBadRequest, nil)
	do(t, srv, http.MethodPost, "/v1/stream", http.StatusMethodNotAllowed, nil)
}

type blockRefJSON struct {
	Height int32  `json:"height"`
	Hash   string `json:"hash"`
}

type statusJSON struct {
	ChainID   string `json:"chain_id"`
	Network   string `json:"network"`
	Height    int64  `json:"height"`
	AppHash   string `json:"app_hash"`
	Canonical struct {
		Height    int32  `json:"height"`
		Hash      string `json:"hash"`
		Chainwork string `json:"chainwork"`
	} `json:"canonical"`
	Endorsed      blockRefJSON `json:"endorsed"`
	BestHeader    blockRefJSON `json:"best_header"`
	Final         blockRefJSON `json:"final"`
	FinalityDepth int32        `json:"finality_depth"`
	Sync          struct {
		Applied, Endorsed, Target, Behind int32
		Synced                            bool
	} `json:"sync"`
	At stamp.At `json:"at"`
}

func TestStatus(t *testing.T) {
	c := newChain(t, chaingen.DefaultConfig())
	_, srv := serve(t, c.Views, native.Options{})
	var s statusJSON
	hdr, body := get(t, srv, "/v1/status", http.StatusOK, &s)
	tip := c.Blocks[120].BlockHash().String()
	if s.ChainID != "rpctest" || s.Network != "regtest" || s.Height != 1 || len(s.AppHash) != 64 ||
		s.Canonical.Height != 120 || s.Canonical.Hash != tip || len(s.Canonical.Chainwork) != 64 ||
		s.BestHeader.Hash != tip || s.Endorsed.Hash != tip || s.Final.Height != 114 ||
		s.Final.Hash != c.Blocks[114].BlockHash().String() || s.FinalityDepth != 6 {
		t.Fatalf("status %s", body)
	}
	if s.Sync.Applied != 120 || s.Sync.Target != 120 || s.Sync.Behind != 0 || !s.Sync.Synced {
		t.Fatalf("sync %+v", s.Sync)
	}
	if s.At != (stamp.At{Height: 120, Hash: tip, ChainHeight: 1}) {
		t.Fatalf("at %+v", s.At)
	}
	if hdr.Get(stamp.HeaderHeight) != "120" || hdr.Get(stamp.HeaderHash) != tip || hdr.Get(stamp.HeaderChainHeight) != "1" {
		t.Fatalf("headers %v", hdr)
	}
	// HEAD is answered like GET, other methods are not.
	do(t, srv, http.MethodHead, "/v1/status", http.StatusOK, nil)
	h, _ := do(t, srv, http.MethodPost, "/v1/status", http.StatusMethodNotAllowed, nil)
	if h.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
}

type utxoJSON struct {
	TxID          string             `json:"txid"`
	Vout          uint32             `json:"vout"`
	Value         int64              `json:"value"`
	ScriptPubKey  query.ScriptPubKey `json:"script_pubkey"`
	Height        int32              `json:"height"`
	Coinbase      bool               `json:"coinbase"`
	Confirmations int32              `json:"confirmations"`
	Final         bool               `json:"final"`
	BlockHash     string             `json:"block_hash"`
	At            stamp.At           `json:"at"`
}

func TestUTXO(t *testing.T) {
	c := newChain(t, chaingen.DefaultConfig())
	_, srv := serve(t, c.Views, native.Options{})
	// Coinbases are immature for 100 blocks, so those of blocks 110 and
	// 120 are unspent: one below the finalized base (114), one above.
	for _, h := range []int32{110, 120} {
		b := c.Blocks[h]
		cb := b.Transactions[0]
		var u utxoJSON
		_, body := get(t, srv, fmt.Sprintf("/v1/utxo/%s/0", cb.TxHash()), http.StatusOK, &u)
		if u.TxID != cb.TxHash().String() || u.Vout != 0 || u.Value != cb.TxOut[0].Value ||
			u.ScriptPubKey.Hex != hex.EncodeToString(cb.TxOut[0].PkScript) || u.ScriptPubKey.Address == "" ||
			u.ScriptPubKey.Type == "" || u.Height != h || !u.Coinbase || u.Confirmations != 120-h+1 ||
			u.Final != (h <= 114) || u.BlockHash != b.BlockHash().String() || u.At.Height != 120 {
			t.Fatalf("coinbase of %d: %s", h, body)
		}
	}
	// A spent coin: the first input of a transaction of the chain.
	var spent *wire.OutPoint
	for h := 120; h > 100 && spent == nil; h-- {
		if txs := c.Blocks[h].Transactions; len(txs) > 1 {
			spent = &txs[1].TxIn[0].PreviousOutPoint
		}
	}
	if spent == nil {
		t.Fatal("no transaction spends anything in blocks 101..120")
	}
	get(t, srv, fmt.Sprintf("/v1/utxo/%s/%d", spent.Hash, spent.Index), http.StatusNotFound, nil)
	cb := c.Blocks[120].Transactions[0].TxHash().String()
	zero := strings.Repeat("0", 64)
	for _, p := range []string{zero + "/0", cb + "/7", cb + "/4294967295"} {
		get(t, srv, "/v1/utxo/"+p, http.StatusNotFound, nil)
	}
	// Bad input is 400 and never a panic; bad paths are 404.
	for _, p := range []string{"zz/0", cb[:63] + "/0", cb + "0/0", "g" + cb[1:] + "/0", cb + "/-1",
		cb + "/4294967296", cb + "/abc", cb + "/1.5", cb + "/%20", cb + "/0x1", cb + "/", "/0", cb + ":0/0"} {
		get(t, srv, "/v1/utxo/"+p, http.StatusBadRequest, nil)
	}
	for _, p := range []string{"/v1/utxo/" + cb, "/v1/utxo/" + cb + "/0/x", "/v1/utxo", "/v1/utxo/", "/v1", "/v1/",
		"/v2/status", "/v1/status/", "/v1//status", "/status", "/v1/block/1", "/v1/block/1/stats/x"} {
		get(t, srv, p, http.StatusNotFound, nil)
	}
}

type blockStatsJSON struct {
	Height               int32  `json:"height"`
	Hash                 string `json:"hash"`
	PrevHash             string `json:"prev_hash"`
	Time                 uint32 `json:"time"`
	Size                 uint32 `json:"size"`
	Weight               uint32 `json:"weight"`
	Txs                  uint32 `json:"txs"`
	Inputs               uint32 `json:"inputs"`
	Outputs              uint32 `json:"outputs"`
	Fees                 int64  `json:"fees"`
	Subsidy              int64  `json:"subsidy"`
	InAmount             int64  `json:"in_amount"`
	CoinDaysDestroyed    string `json:"coin_days_destroyed"`
	PrevoutSpent         int64  `json:"prevout_spent"`
	Coinbase             int64  `json:"coinbase"`
	NewOutputsExCoinbase int64  `json:"new_outputs_ex_coinbase"`
	Unspendable          int64  `json:"unspendable"`
	Confirmations        int32  `json:"confirmations"`
	Final                bool   `json:"final"`
	Set                  struct {
		TxOuts                 uint64 `json:"txouts"`
		BogoSize               uint64 `json:"bogosize"`
		TotalAmount            int64  `json:"total_amount"`
		TotalUnspendableAmount int64  `json:"total_unspendable_amount"`
		TotalSubsidy           int64  `json:"total_subsidy"`
		MuHash                 string `json:"muhash"`
	} `json:"set"`
	At stamp.At `json:"at"`
}

func TestBlockStats(t *testing.T) {
	c := newChain(t, chaingen.DefaultConfig())
	_, srv := serve(t, c.Views, native.Options{})
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	// The busiest block of the last twenty, so that fees, inputs and
	// coin days are not all zero.
	best := int32(101)
	for h := int32(101); h <= 120; h++ {
		if len(c.Blocks[h].Transactions) > len(c.Blocks[best].Transactions) {
			best = h
		}
	}
	for _, h := range []int32{0, 1, best, 120} {
		b := c.Blocks[h]
		var byHeight, byHash blockStatsJSON
		_, body := get(t, srv, fmt.Sprintf("/v1/block/%d/stats", h), http.StatusOK, &byHeight)
		_, body2 := get(t, srv, fmt.Sprintf("/v1/block/%s/stats", b.BlockHash()), http.StatusOK, &byHash)
		if !bytes.Equal(body, body2) {
			t.Fatalf("block %d by height %s, by hash %s", h, body, body2)
		}
		want, err := query.GetTxOutSetInfo(v.Reader, h)
		if err != nil {
			t.Fatal(err)
		}
		s := &byHeight
		blk := btcutil.NewBlock(b)
		if s.Height != h || s.Hash != b.BlockHash().String() || s.PrevHash != b.Header.PrevBlock.String() ||
			s.Time != uint32(b.Header.Timestamp.Unix()) || s.Txs != uint32(len(b.Transactions)) ||
			s.Size != uint32(b.SerializeSize()) || s.Weight != uint32(blockchain.GetBlockWeight(blk)) ||
			s.Fees != int64(want.Satnode.Fees) || s.Subsidy != int64(want.Satnode.Subsidy) ||
			s.InAmount != int64(want.Satnode.InAmount) || s.CoinDaysDestroyed != want.Satnode.CoinDaysDestroyed ||
			s.Inputs != want.Satnode.Inputs || s.Outputs != want.Satnode.Outputs ||
			s.PrevoutSpent != int64(want.BlockInfo.PrevoutSpent) || s.Coinbase != int64(want.BlockInfo.Coinbase) ||
			s.Set.TxOuts != want.TxOuts || s.Set.TotalAmount != int64(want.TotalAmount) || s.Set.MuHash != want.MuHash ||
			s.Confirmations != 120-h+1 || s.Final != (h <= 114) || s.At.Height != 120 {
			t.Fatalf("block %d stats %s, want %+v", h, body, want)
		}
		if h == best && (s.Fees <= 0 || s.Inputs == 0 || s.CoinDaysDestroyed == "0.00000000") {
			t.Fatalf("block %d has %d txs but stats %s", h, s.Txs, body)
		}
	}
	for _, p := range []string{"abc", "-1", "1.0", "0x10", "99999999999", "0120", "00", strings.Repeat("z", 64),
		strings.Repeat("0", 63), "%20"} {
		get(t, srv, "/v1/block/"+p+"/stats", http.StatusBadRequest, nil)
	}
	for _, p := range []string{"121", "2147483647", strings.Repeat("0", 64)} {
		get(t, srv, "/v1/block/"+p+"/stats", http.StatusNotFound, nil)
	}
}

// TestRoutes: the server's metrics get a route template, never a raw path.
func TestRoutes(t *testing.T) {
	views := &app.Views{}
	h := native.New(views, native.Options{})
	defer h.Close()
	for path, want := range map[string]string{
		"/v1/status": "/v1/status", "/v1/utxo/ab/1": "/v1/utxo/:txid/:vout", "/v1/block/7/stats": "/v1/block/:id/stats",
		"/v1/endorsements": "/v1/endorsements", "/v1/stream": "/v1/stream", "/v1/nope": "",
	} {
		ctx, info := reqinfo.With(context.Background())
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if info.Route != want {
			t.Errorf("%s: route %q, want %q", path, info.Route, want)
		}
	}
}
