package core

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/rpctest"
)

// TestProtocol is a table of requests and Core's exact replies: status
// codes and bodies for both JSON-RPC versions, notifications, batches,
// malformed input and bad parameters.
func TestProtocol(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 101)
	h := New(c.Views, Options{})
	hash0 := c.Blocks[0].BlockHash().String()
	tx := c.Blocks[101].Transactions[0].TxHash().String()
	unknown := strings.Repeat("ab", 32)
	bad64 := strings.Repeat("zz", 32)
	help := func(m string) string { return mustHelp(t, h, m) }
	for _, tc := range []struct {
		name   string
		body   string
		status int
		want   string // the exact reply, as JSON; "" for no body
	}{
		// Parsing.
		{"empty body", ``, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"not JSON", `this is bad`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"truncated", `{"id":1,"method":"getblockcount"`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"trailing garbage", `{"id":1,"method":"getblockcount"} x`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"scalar", `42`, 500, `{"result":null,"error":{"code":-32700,"message":"Top-level object parse error"},"id":null}`},
		{"string", `"getblockcount"`, 500, `{"result":null,"error":{"code":-32700,"message":"Top-level object parse error"},"id":null}`},

		// Legacy replies carry result and error, and the id when sent.
		{"legacy", `{"id":1,"method":"getblockcount"}`, 200, `{"result":101,"error":null,"id":1}`},
		{"legacy 1.0", `{"jsonrpc":"1.0","id":"x","method":"getblockcount","params":[]}`, 200, `{"result":101,"error":null,"id":"x"}`},
		{"legacy 1.1 marker ignored", `{"version":"1.1","id":1,"method":"getblockcount"}`, 200, `{"result":101,"error":null,"id":1}`},
		{"legacy without id", `{"method":"getblockcount"}`, 200, `{"result":101,"error":null}`},
		{"legacy null params", `{"id":1,"method":"getblockcount","params":null}`, 200, `{"result":101,"error":null,"id":1}`},
		{"object id echoed compact", `{"id":{ "a" : [1, 2] },"method":"getblockcount"}`, 200, `{"result":101,"error":null,"id":{"a":[1,2]}}`},
		{"first duplicate key wins", `{"id":1,"method":"getblockcount","method":"nope"}`, 200, `{"result":101,"error":null,"id":1}`},
		{"keys are case-sensitive", `{"id":1,"Method":"getblockcount"}`, 400, `{"result":null,"error":{"code":-32600,"message":"Missing method"},"id":1}`},
		{"legacy unknown method", `{"id":1,"method":"getinfo"}`, 404, `{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}`},
		{"legacy execution error", `{"id":1,"method":"getblockhash","params":[420]}`, 500, `{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":1}`},

		// 2.0 replies carry one of them, and 200 once parsed.
		{"2.0", `{"jsonrpc":"2.0","id":1,"method":"getblockcount"}`, 200, `{"jsonrpc":"2.0","result":101,"id":1}`},
		{"2.0 null id is not a notification", `{"jsonrpc":"2.0","id":null,"method":"getblockcount"}`, 200, `{"jsonrpc":"2.0","result":101,"id":null}`},
		{"2.0 unknown method", `{"jsonrpc":"2.0","id":1,"method":"getinfo"}`, 200, `{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}`},
		{"2.0 execution error", `{"jsonrpc":"2.0","id":1,"method":"getblockhash","params":[420]}`, 200, `{"jsonrpc":"2.0","error":{"code":-8,"message":"Block height out of range"},"id":1}`},
		{"2.0 notification", `{"jsonrpc":"2.0","method":"getblockcount"}`, 204, ``},
		{"2.0 failing notification", `{"jsonrpc":"2.0","method":"getblockhash","params":[42]}`, 204, ``},
		{"2.0 missing method", `{"jsonrpc":"2.0","id":7}`, 400, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Missing method"},"id":7}`},

		// Invalid requests.
		{"jsonrpc not a string", `{"jsonrpc":2,"method":"getblockcount"}`, 400, `{"result":null,"error":{"code":-32600,"message":"jsonrpc field must be a string"}}`},
		{"jsonrpc 3.0", `{"jsonrpc":"3.0","method":"getblockcount"}`, 400, `{"result":null,"error":{"code":-32600,"message":"JSON-RPC version not supported"}}`},
		{"missing method", `{"id":1}`, 400, `{"result":null,"error":{"code":-32600,"message":"Missing method"},"id":1}`},
		{"null method", `{"id":1,"method":null}`, 400, `{"result":null,"error":{"code":-32600,"message":"Missing method"},"id":1}`},
		{"method not a string", `{"id":1,"method":5}`, 400, `{"result":null,"error":{"code":-32600,"message":"Method must be a string"},"id":1}`},
		{"params a string", `{"id":1,"method":"getblockcount","params":"x"}`, 400, `{"result":null,"error":{"code":-32600,"message":"Params must be an array or object"},"id":1}`},

		// Arguments: count, types, values.
		{"too many", `{"id":1,"method":"getblockcount","params":[1]}`, 500, errJSON(-1, help("getblockcount"))},
		{"too few", `{"id":1,"method":"gettxout","params":["` + tx + `"]}`, 500, errJSON(-1, help("gettxout"))},
		{"wrong type", `{"id":1,"method":"getblockhash","params":["1"]}`, 500,
			errJSON(-3, "Wrong type passed:\n{\n    \"Position 1 (height)\": \"JSON value of type string is not of expected type number\"\n}")},
		{"two wrong types", `{"id":1,"method":"gettxout","params":[1,"0",null]}`, 500,
			errJSON(-3, "Wrong type passed:\n{\n    \"Position 1 (txid)\": \"JSON value of type number is not of expected type string\",\n"+
				"    \"Position 2 (n)\": \"JSON value of type string is not of expected type number\"\n}")},
		{"required null", `{"id":1,"method":"getblockhash","params":[null]}`, 500,
			errJSON(-3, "Wrong type passed:\n{\n    \"Position 1 (height)\": \"JSON value of type null is not of expected type number\"\n}")},
		{"fraction", `{"id":1,"method":"getblockhash","params":[1.5]}`, 500, errJSON(-1, "JSON integer out of range")},
		{"exponent", `{"id":1,"method":"getblockhash","params":[1e2]}`, 500, errJSON(-1, "JSON integer out of range")},
		{"huge", `{"id":1,"method":"getblockhash","params":[4294967296]}`, 500, errJSON(-1, "JSON integer out of range")},
		{"negative height", `{"id":1,"method":"getblockhash","params":[-1]}`, 500, errJSON(-8, "Block height out of range")},
		{"negative vout", `{"id":1,"method":"gettxout","params":["` + tx + `",-1]}`, 500, errJSON(-1, "JSON integer out of range")},
		{"short txid", `{"id":1,"method":"gettxout","params":["abc",0]}`, 500, errJSON(-8, "txid must be of length 64 (not 3, for 'abc')")},
		{"non-hex txid", `{"id":1,"method":"gettxout","params":["` + bad64 + `",0]}`, 500, errJSON(-8, "txid must be hexadecimal string (not '"+bad64+"')")},
		{"short block hash", `{"id":1,"method":"getblockheader","params":["xyz"]}`, 500, errJSON(-8, "hash must be of length 64 (not 3, for 'xyz')")},
		{"unknown block", `{"id":1,"method":"getblockheader","params":["` + unknown + `"]}`, 500, errJSON(-5, "Block not found")},
		{"verbose not a bool", `{"id":1,"method":"getblockheader","params":["` + hash0 + `",1]}`, 500,
			errJSON(-3, "Wrong type passed:\n{\n    \"Position 2 (verbose)\": \"JSON value of type number is not of expected type bool\"\n}")},
		{"spent or unknown outpoint", `{"id":1,"method":"gettxout","params":["` + unknown + `",0]}`, 200, `{"result":null,"error":null,"id":1}`},
		{"uppercase hex", `{"id":1,"method":"getblockheader","params":["` + strings.ToUpper(hash0) + `",false]}`, 200, ""},

		// Named parameters.
		{"named", `{"id":1,"method":"getblockhash","params":{"height":0}}`, 200, `{"result":"` + hash0 + `","error":null,"id":1}`},
		{"named hole", `{"id":1,"method":"gettxout","params":{"n":0}}`, 500,
			errJSON(-3, "Wrong type passed:\n{\n    \"Position 1 (txid)\": \"JSON value of type null is not of expected type string\"\n}")},
		{"named unknown", `{"id":1,"method":"getblockhash","params":{"heigth":0}}`, 500, errJSON(-8, "Unknown named parameter heigth")},
		{"named twice", `{"id":1,"method":"getblockhash","params":{"height":0,"height":1}}`, 500, errJSON(-8, "Parameter height specified multiple times")},
		{"named with args", `{"id":1,"method":"getblockheader","params":{"args":["` + hash0 + `"],"verbose":false}}`, 200, ""},
		{"named and positional clash", `{"id":1,"method":"getblockhash","params":{"args":[0],"height":0}}`, 500,
			errJSON(-8, "Parameter height specified twice both as positional and named argument")},

		// gettxoutsetinfo and scantxoutset arguments.
		{"hash_serialized_3", `{"id":1,"method":"gettxoutsetinfo","params":["hash_serialized_3"]}`, 500,
			errJSON(-8, "hash_type hash_serialized_3 is not available: satnode keeps no hash_serialized_3; use \"muhash\" or \"none\"")},
		{"bad hash_type", `{"id":1,"method":"gettxoutsetinfo","params":["sha"]}`, 500, errJSON(-8, "'sha' is not a valid hash_type")},
		{"height after tip", `{"id":1,"method":"gettxoutsetinfo","params":["muhash",500]}`, 500, errJSON(-8, "Target block height 500 after current tip 101")},
		{"negative height", `{"id":1,"method":"gettxoutsetinfo","params":["none",-2]}`, 500, errJSON(-8, "Target block height -2 is negative")},
		{"unknown hash", `{"id":1,"method":"gettxoutsetinfo","params":["muhash","` + unknown + `"]}`, 500, errJSON(-5, "Block not found")},
		{"hash_or_height a bool", `{"id":1,"method":"gettxoutsetinfo","params":["muhash",true]}`, 500,
			errJSON(-1, "JSON value of type bool is not of expected type string")},
		{"scan status", `{"id":1,"method":"scantxoutset","params":["status"]}`, 200, `{"result":null,"error":null,"id":1}`},
		{"scan abort", `{"id":1,"method":"scantxoutset","params":["abort",[]]}`, 200, `{"result":false,"error":null,"id":1}`},
		{"scan bad action", `{"id":1,"method":"scantxoutset","params":["go"]}`, 500, errJSON(-8, "Invalid action 'go'")},
		{"scan without objects", `{"id":1,"method":"scantxoutset","params":["start"]}`, 500, errJSON(-1, "scanobjects argument is required for the start action")},
		{"scan object a number", `{"id":1,"method":"scantxoutset","params":["start",[5]]}`, 500, errJSON(-8, "Scan object needs to be either a string or an object")},
		{"scan object without desc", `{"id":1,"method":"scantxoutset","params":["start",[{"range":5}]]}`, 500, errJSON(-8, "Descriptor needs to be provided in scan object")},
		{"scan bad range", `{"id":1,"method":"scantxoutset","params":["start",[{"desc":"raw(51)","range":[5,1]}]]}`, 500,
			errJSON(-8, "Range specified as [begin,end] must not have begin after end")},
		{"scan bad address", `{"id":1,"method":"scantxoutset","params":["start",["addr(1BoatSLRHtKNngkdXEeobR76b53LETtpyT)"]]}`, 500,
			errJSON(-5, "Address is not valid")},
		{"scan bad checksum", `{"id":1,"method":"scantxoutset","params":["start",["raw(deadbeef)#89f8spxn"]]}`, 500,
			errJSON(-5, "Provided checksum '89f8spxn' does not match computed checksum '89f8spxm'")},
		{"scan pkh", `{"id":1,"method":"scantxoutset","params":["start",["pkh(02e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13)"]]}`, 500,
			errJSON(-8, "pkh() descriptors are not supported: satnode answers addr() and raw() descriptors only")},
		{"scan garbage", `{"id":1,"method":"scantxoutset","params":["start",["foo(1)"]]}`, 500, errJSON(-5, "'foo(1)' is not a valid descriptor function")},
		{"scan raw no match", `{"id":1,"method":"scantxoutset","params":["start",["raw(deadbeef)#89f8spxm"]]}`, 200, ""},

		// Batches: 200 and an array; errors and successes side by side,
		// notifications left out (the table of Core's interface_rpc.py).
		{"batch", `[{"id":1,"method":"getblockcount"},{"id":2,"method":"invalidmethod"},{"id":3,"method":"getblockhash","params":[0]},{"id":4,"pizza":"sausage"}]`,
			200, `[{"result":101,"error":null,"id":1},{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":2},` +
				`{"result":"` + hash0 + `","error":null,"id":3},{"result":null,"error":{"code":-32600,"message":"Missing method"},"id":4}]`},
		{"batch 2.0 with notifications", `[{"jsonrpc":"2.0","method":"getblockcount"},{"jsonrpc":"2.0","method":"invalidmethod"},` +
			`{"jsonrpc":"2.0","id":3,"method":"getblockhash","params":[0]},{"jsonrpc":"2.0","id":4,"pizza":"sausage"}]`,
			200, `[{"jsonrpc":"2.0","result":"` + hash0 + `","id":3},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Missing method"},"id":4}]`},
		{"batch of notifications", `[{"jsonrpc":"2.0","method":"getblockcount"},{"jsonrpc":"2.0","method":"nope"}]`, 204, ``},
		{"batch with non-objects", `[1,"x",null,{"id":2,"method":"getblockcount"}]`, 200,
			`[{"result":null,"error":{"code":-32600,"message":"Invalid Request object"},"id":null},` +
				`{"result":null,"error":{"code":-32600,"message":"Invalid Request object"},"id":null},` +
				`{"result":null,"error":{"code":-32600,"message":"Invalid Request object"},"id":null},{"result":101,"error":null,"id":2}]`},
		{"batch unsupported version", `[{"jsonrpc":"2.1","id":1,"method":"getblockcount"}]`, 200,
			`[{"result":null,"error":{"code":-32600,"message":"JSON-RPC version not supported"},"id":1}]`},
		{"empty batch", `[]`, 400, `{"result":null,"error":{"code":-32600,"message":"Invalid Request: empty batch"},"id":null}`},
		{"nested batch", `[[]]`, 200, `[{"result":null,"error":{"code":-32600,"message":"Invalid Request object"},"id":null}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(h, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tc.status, r.body)
			}
			switch {
			case tc.status == 204:
				if len(r.body) != 0 {
					t.Fatalf("204 with a body: %q", r.body)
				}
				return
			case tc.want == "":
				if !json.Valid(r.body) {
					t.Fatalf("invalid JSON reply %q", r.body)
				}
			case !sameJSON(r.body, []byte(tc.want)):
				t.Fatalf("reply\n%s\nwant\n%s", r.body, tc.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" || r.body[len(r.body)-1] != '\n' {
				t.Fatalf("Content-Type %q, body %q", ct, r.body)
			}
		})
	}
}

func errJSON(code int, msg string) string {
	b, _ := json.Marshal(map[string]any{"result": nil, "error": map[string]any{"code": code, "message": msg}, "id": 1})
	return string(b)
}

// mustHelp is the help text a method answers a wrong argument count with.
func mustHelp(t *testing.T, h http.Handler, m string) string {
	t.Helper()
	return h.(*server).methods[m].help
}

func TestNotPost(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 101)
	h := New(c.Views, Options{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed || (m != http.MethodHead && rec.Body.String() != "JSONRPC server handles only POST requests") {
			t.Errorf("%s: %d %q", m, rec.Code, rec.Body)
		}
	}
}

// TestOversizedBody: a body over the server's cap is 413 with a JSON-RPC
// error, and the handler answers the next request normally.
func TestOversizedBody(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 101)
	h := limited(New(c.Views, Options{}), 4096)
	body := `{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":["` + strings.Repeat("x", 10000) + `"]}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	want := `{"result":null,"error":{"code":-32600,"message":"Request body too large: the limit is 4096 bytes"},"id":null}`
	if rec.Code != http.StatusRequestEntityTooLarge || !sameJSON(rec.Body.Bytes(), []byte(want)) {
		t.Fatalf("oversized body: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"id":1,"method":"getblockcount"}`)))
	if rec.Code != 200 || !sameJSON(rec.Body.Bytes(), []byte(`{"result":101,"error":null,"id":1}`)) {
		t.Fatalf("after an oversized body: %d %s", rec.Code, rec.Body)
	}
}

// TestNoState: before the first commit the chain methods are -28 and
// nothing is stamped; getnetworkinfo, which reads no state, answers.
func TestNoState(t *testing.T) {
	h := New(&app.Views{}, Options{})
	for _, m := range []string{"getblockcount", "getbestblockhash", "getblockchaininfo", "gettxoutsetinfo"} {
		r := post(h, `{"id":1,"method":"`+m+`"}`)
		if r.status != 500 || !sameJSON(r.body, []byte(errJSON(-28, errNoState.Message))) || r.header.Get(stamp.HeaderHeight) != "" {
			t.Errorf("%s with no state: %d %s %v", m, r.status, r.body, r.header)
		}
	}
	r := post(h, `{"jsonrpc":"2.0","id":1,"method":"getblockhash","params":[0]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"code":-28`) {
		t.Errorf("2.0 call with no state: %d %s", r.status, r.body)
	}
	callOK(t, h, "getnetworkinfo", "[]", nil)
}

// TestStamped: every answer that read a view names its commit in the
// stamp headers, a batch included.
func TestStamped(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 101)
	h := New(c.Views, Options{})
	for _, body := range []string{
		`{"id":1,"method":"getblockcount"}`,
		`{"id":1,"method":"getblockhash","params":[500]}`, // an error, but it read the view
		`[{"id":1,"method":"getbestblockhash"},{"id":2,"method":"nope"}]`,
	} {
		r := post(h, body)
		if r.header.Get(stamp.HeaderHeight) != "101" || r.header.Get(stamp.HeaderHash) != c.Blocks[101].BlockHash().String() ||
			r.header.Get(stamp.HeaderChainHeight) != "1" {
			t.Errorf("%s: headers %v", body, r.header)
		}
	}
}
