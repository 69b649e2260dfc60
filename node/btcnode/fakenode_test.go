package btcnode_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// fakeNode is a JSON-RPC server answering the Source methods from a
// refChain the way Bitcoin Core or btcd would, with their error codes and
// HTTP statuses, plus hooks to inject faults.
type fakeNode struct {
	ref   *refChain
	btcd  bool   // btcd's conventions instead of Core's
	chain string // getblockchaininfo's chain name

	mu         sync.Mutex
	user, pass string // required credentials; none if both empty

	// hook, if set (setHook), sees each authenticated request first and
	// may answer it itself (returning true).
	hook func(w http.ResponseWriter, r *http.Request, req *fakeRequest) bool

	requests atomic.Int32 // HTTP requests received, authenticated or not
}

type fakeRequest struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func newFakeNode(t *testing.T, ref *refChain, btcd bool) (*fakeNode, *httptest.Server) {
	f := &fakeNode{ref: ref, btcd: btcd, chain: "main"}
	if btcd {
		f.chain = "mainnet"
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeNode) setAuth(user, pass string) {
	f.mu.Lock()
	f.user, f.pass = user, pass
	f.mu.Unlock()
}

func (f *fakeNode) setHook(h func(w http.ResponseWriter, r *http.Request, req *fakeRequest) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	wantUser, wantPass, hook := f.user, f.pass, f.hook
	f.mu.Unlock()
	if wantUser != "" || wantPass != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != wantUser || p != wantPass {
			// Core answers 401 with an empty body, btcd with a short text.
			w.WriteHeader(http.StatusUnauthorized)
			if f.btcd {
				w.Write([]byte("401 Unauthorized.\n"))
			}
			return
		}
	}
	var req fakeRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil || req.Params == nil {
		// Both nodes reject a missing or null params list.
		f.fail(w, nil, -32600, "Invalid request: malformed")
		return
	}
	if hook != nil && hook(w, r, &req) {
		return
	}
	f.answer(w, &req)
}

func (f *fakeNode) answer(w http.ResponseWriter, req *fakeRequest) {
	ref := f.ref
	tip := ref.tip()
	switch req.Method {
	case "getblockchaininfo":
		f.reply(w, req.ID, map[string]any{
			"chain": f.chain, "blocks": tip, "headers": tip,
			"bestblockhash": ref.hashes[tip].String(), "pruned": false,
		})
	case "getbestblockhash":
		f.reply(w, req.ID, ref.hashes[tip].String())
	case "getblockhash":
		var h int64
		if len(req.Params) != 1 || json.Unmarshal(req.Params[0], &h) != nil {
			f.fail(w, req.ID, -32602, "bad params")
			return
		}
		if h < 0 || h > int64(tip) {
			if f.btcd {
				f.fail(w, req.ID, -1, "Block number out of range")
			} else {
				f.fail(w, req.ID, -8, "Block height out of range")
			}
			return
		}
		f.reply(w, req.ID, ref.hashes[h].String())
	case "getblockheader", "getblock":
		var s string
		if len(req.Params) != 2 || json.Unmarshal(req.Params[0], &s) != nil {
			f.fail(w, req.ID, -32602, "bad params")
			return
		}
		hash, err := chainhash.NewHashFromStr(s)
		if err != nil {
			f.fail(w, req.ID, -8, "blockhash must be hexadecimal")
			return
		}
		h, ok := ref.height[*hash]
		if !ok {
			f.fail(w, req.ID, -5, "Block not found")
			return
		}
		if req.Method == "getblock" {
			var verbosity int
			if json.Unmarshal(req.Params[1], &verbosity) != nil || verbosity != 0 {
				f.fail(w, req.ID, -32602, "this fake serves verbosity 0 only")
				return
			}
			f.reply(w, req.ID, hex.EncodeToString(ref.blocks[h]))
			return
		}
		var verbose bool
		if json.Unmarshal(req.Params[1], &verbose) != nil {
			f.fail(w, req.ID, -32602, "verbose must be a boolean")
			return
		}
		if !verbose {
			f.reply(w, req.ID, hex.EncodeToString(ref.blocks[h][:80]))
			return
		}
		f.reply(w, req.ID, map[string]any{"hash": hash.String(), "height": h, "confirmations": tip - h + 1})
	default:
		w.Header().Set("Content-Type", "application/json")
		if !f.btcd {
			w.WriteHeader(http.StatusNotFound) // Core's status for an unknown method
		}
		json.NewEncoder(w).Encode(map[string]any{"result": nil, "error": map[string]any{"code": -32601, "message": "Method not found"}, "id": req.ID})
	}
}

func (f *fakeNode) reply(w http.ResponseWriter, id json.RawMessage, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"result": result, "error": nil, "id": id})
}

// fail sends an RPC error: Core with HTTP 500, btcd with 200.
func (f *fakeNode) fail(w http.ResponseWriter, id json.RawMessage, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if !f.btcd {
		w.WriteHeader(http.StatusInternalServerError)
	}
	json.NewEncoder(w).Encode(map[string]any{"result": nil, "error": map[string]any{"code": code, "message": msg}, "id": id})
}
