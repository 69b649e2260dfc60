package btcnode_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/node/btcnode"
)

// FuzzReply feeds arbitrary HTTP replies to the client: it must not panic,
// every failure must be one of the package's typed errors, and whatever it
// accepts must pass its checks.
func FuzzReply(f *testing.F) {
	genesis := chaincfg.MainNetParams.GenesisHash
	hdr := hex.EncodeToString(mustHeader(f))
	f.Add(200, `{"result":"`+hdr+`","error":null,"id":$ID}`)
	f.Add(200, `{"result":{"hash":"`+genesis.String()+`","height":0},"error":null,"id":$ID}`)
	f.Add(500, `{"result":null,"error":{"code":-5,"message":"Block not found"},"id":$ID}`)
	f.Add(500, `{"result":null,"error":{"code":-28,"message":"Loading"},"id":$ID}`)
	f.Add(200, `{"result":null,"error":null,"id":$ID}`)
	f.Add(200, `{"result":{"bestblock":"`+genesis.String()+`","confirmations":1,"value":50,"scriptPubKey":{"hex":"51"},"coinbase":true},"error":null,"id":$ID}`)
	f.Add(401, "")
	f.Add(503, "Work queue depth exceeded")
	f.Add(200, `{"result":"00","error":null`)

	var (
		mu     sync.Mutex
		status int
		body   string
	)
	// "$ID" in a body becomes the request's id, so that replies get past
	// the id check without the fuzzer guessing the client's counter.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.WriteHeader(st)
		w.Write([]byte(strings.ReplaceAll(b, "$ID", string(req.ID))))
	}))
	defer srv.Close()
	c, err := btcnode.New(btcnode.Config{URL: srv.URL, Retries: -1})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()

	f.Fuzz(func(t *testing.T, st int, b string) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		mu.Lock()
		status, body = st, b
		mu.Unlock()
		ctx := context.Background()
		h, err := c.BlockHeader(ctx, *genesis)
		if err == nil && (h.Hash() != *genesis || h.Header.BlockHash() != *genesis) {
			t.Fatalf("accepted header %x for %s", h.Raw, genesis)
		}
		checkTyped(t, err)
		blk, err := c.Block(ctx, *genesis)
		if err == nil && (len(blk) < 80 || chainhash.DoubleHashH(blk[:80]) != *genesis) {
			t.Fatalf("accepted block %x for %s", blk, genesis)
		}
		checkTyped(t, err)
		_, err = c.GetTxOut(ctx, *genesis, 0, true)
		checkTyped(t, err)
		_, err = c.ChainInfo(ctx)
		checkTyped(t, err)
	})
}

func mustHeader(tb testing.TB) []byte {
	var buf bytes.Buffer
	if err := chaincfg.MainNetParams.GenesisBlock.Header.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func checkTyped(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var (
		rpc  *btcnode.RPCError
		http *btcnode.HTTPError
		resp *btcnode.ResponseError
		tr   *btcnode.TransportError
	)
	if !errors.As(err, &rpc) && !errors.As(err, &http) && !errors.As(err, &resp) && !errors.As(err, &tr) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
}
