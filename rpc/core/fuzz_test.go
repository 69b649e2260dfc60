package core

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/satnode/satnode/rpc/rpctest"
)

// fuzzSeeds are requests of every shape the handler distinguishes.
var fuzzSeeds = []string{
	``, `{}`, `[]`, `[[]]`, `42`, `"x"`, `null`, `{"id":1}`, `{"method":1}`,
	`{"id":1,"method":"getblockcount"}`,
	`{"jsonrpc":"2.0","id":"a","method":"getblockcount","params":[]}`,
	`{"jsonrpc":"2.0","method":"getblockcount"}`,
	`{"jsonrpc":2,"method":"x"}`, `{"jsonrpc":"3.0","method":"x"}`,
	`{"id":{"a":[1,2,{"b":"\"]}"}]},"method":"getbestblockhash","params":{}}`,
	`{"id":1,"method":"getblockhash","params":[0]}`,
	`{"id":1,"method":"getblockhash","params":{"height":1,"height":2}}`,
	`{"id":1,"method":"getblockheader","params":{"args":["00"],"verbose":false}}`,
	`{"id":1,"method":"gettxout","params":["` + strings.Repeat("0", 64) + `",0,true]}`,
	`{"id":1,"method":"gettxoutsetinfo","params":["none","` + strings.Repeat("1", 64) + `"]}`,
	`{"id":1,"method":"scantxoutset","params":["start",["raw(51)",{"desc":"addr(x)","range":[1,2]}]]}`,
	`{"id":1,"method":"getblockchaininfo"}`,
	`{"id":1,"method":"getnetworkinfo","params":null}`,
	`[{"id":1,"method":"getblockcount"},{"jsonrpc":"2.0","method":"x"},5,"s",{"pizza":"sausage"}]`,
	"{\"id\":1,\"met\\u0068od\":\"getblockcount\"}",
	"\t{ \"id\" : 1 , \"method\" : \"getblockcount\" , \"params\" : [ ] }\n",
	`{"id":1,"method":"getblockhash","params":[1e400]}`,
	"{\"id\":1,\"method\":\"getblock\xffcount\"}",
	`{"id":1,"method":"getblock","params":["` + strings.Repeat("0", 64) + `",true]}`,
	`{"id":1,"method":"getblock","params":{"blockhash":"zz","verbose":3}}`,
	`{"id":1,"method":"getblock","params":["00",99999999999999999999]}`,
	`{"id":1,"method":"getrawtransaction","params":["` + strings.Repeat("1", 64) + `",2,"` + strings.Repeat("0", 64) + `"]}`,
	`{"id":1,"method":"getrawtransaction","params":{"txid":"x","verbosity":-1,"blockhash":5}}`,
}

// FuzzDecodeRequest checks the in-place decoder against encoding/json on
// any input: it never panics, splits arrays into exactly the elements
// encoding/json finds, and decodes a call object's id, method and params
// as a map decoding would (where the object has no duplicate keys, on
// which the two differ by design).
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The walkers must stop, not panic, even on invalid JSON.
		skipValue(data, 0)
		eachMember(data, func(_, _ []byte) bool { return true })
		eachElement(data, func([]byte) bool { return true })
		if !json.Valid(data) {
			return
		}
		trimmed := bytes.TrimSpace(data)
		var arr []json.RawMessage
		if kindOf(trimmed) == kindArray && json.Unmarshal(data, &arr) == nil {
			got, ok := elements(data)
			if !ok || len(got) != len(arr) {
				t.Fatalf("%q: %d elements, encoding/json %d", data, len(got), len(arr))
			}
			for i := range arr {
				if !bytes.Equal(got[i], arr[i]) {
					t.Fatalf("%q: element %d %q, encoding/json %q", data, i, got[i], arr[i])
				}
			}
		}
		var m map[string]json.RawMessage
		if kindOf(trimmed) != kindObject || json.Unmarshal(data, &m) != nil {
			return
		}
		n := 0
		eachMember(data, func(_, _ []byte) bool { n++; return true })
		if n != len(m) {
			return // duplicate keys
		}
		req, err := parseRequest(trimmed)
		if id, ok := m["id"]; ok != (req.id != nil) || (ok && !sameJSON(id, req.id)) {
			t.Fatalf("%q: id %q", data, req.id)
		}
		method, hasMethod := m["method"]
		var name string
		isString := hasMethod && json.Unmarshal(method, &name) == nil && kindOf(method) == kindString
		if err == nil {
			if !isString || req.method != name {
				t.Fatalf("%q: method %q, encoding/json %q", data, req.method, name)
			}
			if p, ok := m["params"]; ok && kindOf(p) != kindNull && !bytes.Equal(p, req.params) {
				t.Fatalf("%q: params %q, encoding/json %q", data, req.params, p)
			}
		} else if err.Code != CodeInvalidRequest {
			t.Fatalf("%q: error %v", data, err)
		}
	})
}

// FuzzHandler sends any body to the handler over a real chain: it never
// panics and always answers a known status with a JSON body (or none for
// 204).
func FuzzHandler(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	c := rpctest.New(f, testChainConfig(105), 101)
	for _, s := range []string{
		`{"id":1,"method":"gettxout","params":["` + c.Blocks[101].Transactions[0].TxHash().String() + `",0]}`,
		`{"id":1,"method":"getblockheader","params":["` + c.Blocks[50].BlockHash().String() + `"]}`,
		`{"id":1,"method":"getblock","params":["` + c.Blocks[101].BlockHash().String() + `",3]}`,
		`{"id":1,"method":"getrawtransaction","params":["` + c.Blocks[101].Transactions[0].TxHash().String() +
			`",true,"` + c.Blocks[101].BlockHash().String() + `"]}`,
	} {
		f.Add(s)
	}
	h := New(c.Views, Options{MaxUTXOs: 3, Bodies: c.Bodies})
	f.Fuzz(func(t *testing.T, body string) {
		r := post(h, body)
		switch r.status {
		case 204:
			if len(r.body) != 0 {
				t.Fatalf("%q: 204 with body %q", body, r.body)
			}
		case 200, 400, 404, 413, 500:
			if !json.Valid(r.body) {
				t.Fatalf("%q: %d with invalid JSON %q", body, r.status, r.body)
			}
		default:
			t.Fatalf("%q: status %d", body, r.status)
		}
	})
}
