package esplora

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/query"
)

// testConfig is chaingen's default chain cut to 150 blocks, all of them
// before segwit activation (height 432 on regtest). Before activation the
// generator skips hot addresses with segwit types, so the first hot
// address is made P2PKH and hot addresses get 30% of the outputs: Hot[0]
// then holds about 120 unspent outputs, Hot[2] about 30, enough to page
// through and to trip a small MaxUTXOs, while Hot[1] (P2TR) stays empty.
func testConfig() chaingen.Config {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 150
	cfg.Hot[0].Type = chaingen.ScriptP2PKH
	cfg.HotShare = 0.3
	return cfg
}

// hot is a hot address of the test chain: its string and output script.
type hot struct {
	addr   string
	script []byte
}

// hotAddress derives hot address i from the generator's key pool (keys
// are a function of the seed), not from anything the handler reads.
func hotAddress(t testing.TB, cfg chaingen.Config, i int) hot {
	t.Helper()
	sc, err := chaingen.ScriptsFor(cfg.Seed, cfg.Hot[i].KeyIndex, cfg.Hot[i].Type)
	if err != nil {
		t.Fatal(err)
	}
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(sc.PkScript, &chaincfg.RegressionNetParams)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("hot address %d: %v %v", i, addrs, err)
	}
	return hot{addr: addrs[0].EncodeAddress(), script: sc.PkScript}
}

func (h hot) scriptHash() string {
	sum := sha256.Sum256(h.script)
	return hex.EncodeToString(sum[:])
}

// scan is what the blocks say about one script: Esplora's counters and
// the unspent outputs, computed by walking every transaction.
type scan struct {
	stats   query.ChainStats
	unspent map[utxo.Outpoint]scanned
}

type scanned struct {
	value  int64
	height int32
}

// scanBlocks walks blocks[1:] (the genesis output is not in the set) and
// counts the outputs paying script and the inputs spending them.
func scanBlocks(blocks []*wire.MsgBlock, script []byte) scan {
	s := scan{unspent: map[utxo.Outpoint]scanned{}}
	for h := 1; h < len(blocks); h++ {
		for i, tx := range blocks[h].Transactions {
			touched := false
			if i > 0 {
				for _, in := range tx.TxIn {
					op := utxo.Outpoint{Hash: in.PreviousOutPoint.Hash, Index: in.PreviousOutPoint.Index}
					if c, ok := s.unspent[op]; ok {
						s.stats.SpentTxoCount++
						s.stats.SpentTxoSum += uint64(c.value)
						delete(s.unspent, op)
						touched = true
					}
				}
			}
			txid := tx.TxHash()
			for vout, out := range tx.TxOut {
				if bytes.Equal(out.PkScript, script) {
					s.stats.FundedTxoCount++
					s.stats.FundedTxoSum += uint64(out.Value)
					s.unspent[utxo.Outpoint{Hash: txid, Index: uint32(vout)}] = scanned{value: out.Value, height: int32(h)}
					touched = true
				}
			}
			if touched {
				s.stats.TxCount++
			}
		}
	}
	return s
}

// get serves one GET request.
func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// getOK serves a GET that must answer 200 with the content type want.
func getOK(t testing.TB, h http.Handler, target, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	rec := get(t, h, target)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %q", target, rec.Code, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != contentType {
		t.Fatalf("GET %s: Content-Type %q, want %q", target, ct, contentType)
	}
	return rec
}

// getJSON serves a GET that must answer 200 JSON and decodes it into v,
// refusing unknown fields so the shape is checked too.
func getJSON(t testing.TB, h http.Handler, target string, v any) *httptest.ResponseRecorder {
	t.Helper()
	rec := getOK(t, h, target, "application/json")
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: %v in %s", target, err, rec.Body.String())
	}
	return rec
}

// checkStamp checks the headers naming the commit an answer read.
func checkStamp(t testing.TB, rec *httptest.ResponseRecorder, c *rpctest.Chain) {
	t.Helper()
	tip := c.Tip()
	if got := rec.Header().Get(stamp.HeaderHeight); got != strconv.Itoa(int(tip)) {
		t.Fatalf("%s = %q, want %d", stamp.HeaderHeight, got, tip)
	}
	if got := rec.Header().Get(stamp.HeaderHash); got != c.Blocks[tip].BlockHash().String() {
		t.Fatalf("%s = %q, want %s", stamp.HeaderHash, got, c.Blocks[tip].BlockHash())
	}
	if rec.Header().Get(stamp.HeaderChainHeight) == "" {
		t.Fatalf("no %s header", stamp.HeaderChainHeight)
	}
}
