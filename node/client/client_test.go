package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/satnode/satnode/consensus/tx"
)

// fakeNode answers the JSON-RPC calls Client makes, as CometBFT would:
// an account, a chain id, a broadcast result, and a transaction that is
// found after a few lookups.
type fakeNode struct {
	mu        sync.Mutex
	checkCode uint32
	execCode  uint32
	lookups   int
	findAfter int // lookups before the tx is found; -1: never
	gotTx     []byte
	account   string // abci_query value, or "" for UnknownAccount
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params map[string]any  `json:"params"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var result string
	rpcErr := ""
	switch req.Method {
	case "abci_query":
		if f.account == "" {
			result = `{"response":{"code":7,"log":"no account","codespace":"satnode"}}`
		} else {
			result = fmt.Sprintf(`{"response":{"code":0,"value":%q}}`, base64.StdEncoding.EncodeToString([]byte(f.account)))
		}
	case "status":
		result = `{"node_info":{"network":"fake-chain"},"sync_info":{},"validator_info":{}}`
	case "broadcast_tx_sync":
		raw, _ := base64.StdEncoding.DecodeString(req.Params["tx"].(string))
		f.gotTx = raw
		result = fmt.Sprintf(`{"code":%d,"log":"check log","hash":"ABCD"}`, f.checkCode)
	case "tx":
		f.lookups++
		if f.findAfter < 0 || f.lookups <= f.findAfter {
			rpcErr = `{"code":-32603,"message":"Internal error","data":"tx (ABCD) not found"}`
		} else {
			result = fmt.Sprintf(`{"hash":"ABCD","height":"7","index":0,"tx_result":{"code":%d,"log":"exec log"},"tx":""}`, f.execCode)
		}
	default:
		rpcErr = `{"code":-32601,"message":"Method not found"}`
	}
	w.Header().Set("Content-Type", "application/json")
	if rpcErr != "" {
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":%s}`, req.ID, rpcErr)
		return
	}
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)
}

func newFake(t *testing.T, f *fakeNode) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Poll = 5 * time.Millisecond
	return c
}

func TestSend(t *testing.T) {
	priv, _ := btcec.PrivKeyFromBytes([]byte(strings.Repeat("\x01", 32)))
	to := tx.AddressOf(priv.PubKey())
	msg := tx.Transfer{To: to, Amount: 5}
	ctx := context.Background()

	// Accepted: the nonce is the account's plus one, signed for the node's
	// chain, and the result names the block.
	f := &fakeNode{findAfter: 3, account: `{"address":"x","balance":10,"nonce":41}`}
	res, err := newFake(t, f).Send(ctx, priv, msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Height != 7 || res.Nonce != 42 || res.CodeName != "OK" || res.Hash != "ABCD" || res.Kind != "Transfer" {
		t.Fatalf("result %+v", res)
	}
	env, err := tx.Unmarshal(f.gotTx)
	if err != nil || env.Nonce != 42 || env.Verify("fake-chain") != nil {
		t.Fatalf("broadcast tx: %+v %v", env, err)
	}

	// Rejected by CheckTx: a *TxError with the code's name.
	f = &fakeNode{checkCode: uint32(tx.CodeBadNonce), account: `{"nonce":0}`}
	_, err = newFake(t, f).Send(ctx, priv, msg, 3)
	var te *TxError
	if !errors.As(err, &te) || te.Stage != "CheckTx" || te.Code != tx.CodeBadNonce ||
		!strings.Contains(err.Error(), "code 4 (BadNonce): check log") {
		t.Fatalf("CheckTx rejection: %v", err)
	}

	// Failed in the block: the result and a *TxError with the height.
	f = &fakeNode{execCode: uint32(tx.CodeInsufficientBalance), account: `{"nonce":0}`}
	res, err = newFake(t, f).Send(ctx, priv, msg, 0)
	if !errors.As(err, &te) || te.Stage != "FinalizeBlock" || te.Height != 7 || res == nil || res.CodeName != "InsufficientBalance" ||
		!strings.Contains(err.Error(), "failed in FinalizeBlock at height 7: code 6 (InsufficientBalance): exec log") {
		t.Fatalf("FinalizeBlock failure: %v %+v", err, res)
	}

	// Never included: ErrNotIncluded after Wait, naming the last lookup.
	f = &fakeNode{findAfter: -1, account: `{"nonce":0}`}
	c := newFake(t, f)
	c.Wait = 50 * time.Millisecond
	if _, err := c.Send(ctx, priv, msg, 0); !errors.Is(err, ErrNotIncluded) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("not included: %v", err)
	}

	// No account: the nonce cannot be read; the query error names the code.
	f = &fakeNode{}
	var qe *QueryError
	if _, err := newFake(t, f).Send(ctx, priv, msg, 0); !errors.As(err, &qe) || qe.Code != tx.CodeUnknownAccount ||
		!strings.Contains(err.Error(), "code 7 (UnknownAccount): no account") {
		t.Fatalf("unknown account: %v", err)
	}

	// An invalid message is refused before anything is sent.
	f = &fakeNode{account: `{"nonce":0}`}
	if _, err := newFake(t, f).Send(ctx, priv, tx.Transfer{To: to}, 0); tx.CodeOf(errors.Unwrap(err)) != tx.CodeInvalidAmount || f.gotTx != nil {
		t.Fatalf("zero transfer: %v", err)
	}

	if _, err := New(""); err == nil {
		t.Fatal("empty address accepted")
	}
}
