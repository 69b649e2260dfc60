package esplora

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// esploraMux mounts h as the server does: at "/" and under "/api/".
func esploraMux(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", h))
	mux.Handle("/", h)
	return mux
}

func TestBlocks(t *testing.T) {
	c := rpctest.New(t, testConfig(), 150)
	h := esploraMux(New(c.Views, Options{}))
	tip := c.Tip()
	tipHash := c.Blocks[tip].BlockHash().String()

	for _, prefix := range []string{"", "/api"} {
		rec := getOK(t, h, prefix+"/blocks/tip/height", "text/plain")
		if rec.Body.String() != "150" {
			t.Fatalf("tip height %q, want 150", rec.Body.String())
		}
		checkStamp(t, rec, c)
		rec = getOK(t, h, prefix+"/blocks/tip/hash", "text/plain")
		if rec.Body.String() != tipHash {
			t.Fatalf("tip hash %q, want %s", rec.Body.String(), tipHash)
		}
		checkStamp(t, rec, c)
	}

	for height, b := range c.Blocks {
		hash := b.BlockHash().String()
		rec := getOK(t, h, "/block-height/"+strconv.Itoa(height), "text/plain")
		if rec.Body.String() != hash {
			t.Fatalf("block-height/%d = %q, want %s", height, rec.Body.String(), hash)
		}
		var hdr bytes.Buffer
		if err := b.Header.Serialize(&hdr); err != nil {
			t.Fatal(err)
		}
		rec = getOK(t, h, "/block/"+hash+"/header", "text/plain")
		if want := hex.EncodeToString(hdr.Bytes()); rec.Body.String() != want {
			t.Fatalf("header of %d = %q, want %s", height, rec.Body.String(), want)
		}
		var st BlockStatus
		rec = getJSON(t, h, "/api/block/"+hash+"/status", &st)
		if !st.InBestChain || st.Height == nil || int(*st.Height) != height {
			t.Fatalf("status of %d: %s", height, rec.Body.String())
		}
		switch {
		case height == int(tip) && st.NextBest != nil:
			t.Fatalf("status of the tip has next_best: %s", rec.Body.String())
		case height < int(tip) && (st.NextBest == nil || *st.NextBest != c.Blocks[height+1].BlockHash().String()):
			t.Fatalf("status of %d: next_best is not block %d: %s", height, height+1, rec.Body.String())
		}
		// Esplora caches what ten blocks cover for good, the rest briefly.
		wantTTL := "public, max-age=10"
		if int(tip)-height >= 10 {
			wantTTL = "public, max-age=157784630"
		}
		if got := rec.Header().Get("Cache-Control"); got != wantTTL {
			t.Fatalf("status of %d: Cache-Control %q, want %q", height, got, wantTTL)
		}
	}
	// Esplora's exact bytes for the status of a block it does not have.
	unknown := strings.Repeat("ab", 32)
	rec := getOK(t, h, "/block/"+unknown+"/status", "application/json")
	if rec.Body.String() != `{"in_best_chain":false,"height":null,"next_best":null}` {
		t.Fatalf("status of an unknown block: %s", rec.Body.String())
	}
	rec = getOK(t, h, "/block/"+tipHash+"/status", "application/json")
	if want := `{"in_best_chain":true,"height":150,"next_best":null}`; rec.Body.String() != want {
		t.Fatalf("status of the tip: %s, want %s", rec.Body.String(), want)
	}
}

// rawKeys returns the sorted keys of a JSON object.
func rawKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestAddressAndScriptHash(t *testing.T) {
	cfg := testConfig()
	c := rpctest.New(t, cfg, 150)
	h := New(c.Views, Options{})
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()

	for i := range cfg.Hot {
		ha := hotAddress(t, cfg, i)
		want := scanBlocks(c.Blocks, ha.script)
		for _, target := range []string{"/address/" + ha.addr, "/scripthash/" + ha.scriptHash()} {
			var got ScriptStats
			rec := getJSON(t, h, target, &got)
			checkStamp(t, rec, c)
			if got.ChainStats != want.stats || got.MempoolStats != (query.ChainStats{}) {
				t.Fatalf("%s: %s, blocks say %+v", target, rec.Body.String(), want.stats)
			}
			key := "address"
			if strings.HasPrefix(target, "/scripthash/") {
				key = "scripthash"
				if got.ScriptHash != ha.scriptHash() {
					t.Fatalf("%s echoes %q", target, got.ScriptHash)
				}
			} else if got.Address != ha.addr {
				t.Fatalf("%s echoes %q", target, got.Address)
			}
			keys := rawKeys(t, rec.Body.Bytes())
			if !slices.Equal(keys, slices.Sorted(slices.Values([]string{key, "chain_stats", "mempool_stats"}))) {
				t.Fatalf("%s: keys %v", target, keys)
			}
			// Byte for byte what electrs would send: its keys come sorted.
			wantBody, _ := json.Marshal(map[string]any{key: strings.TrimPrefix(strings.TrimPrefix(target, "/address/"), "/scripthash/"),
				"chain_stats": want.stats, "mempool_stats": query.ChainStats{}})
			if rec.Body.String() != string(wantBody) {
				t.Fatalf("%s: %s, want %s", target, rec.Body.String(), wantBody)
			}
		}
		if i == 0 && (want.stats.SpentTxoCount == 0 || len(want.unspent) < 100) {
			t.Fatalf("hot address 0 should have spent outputs and about 120 unspent: %+v, %d unspent",
				want.stats, len(want.unspent))
		}

		var utxos []query.UTXO
		rec := getJSON(t, h, "/address/"+ha.addr+"/utxo", &utxos)
		checkStamp(t, rec, c)
		if utxos == nil {
			t.Fatalf("utxo of %s: %s, want an array", ha.addr, rec.Body.String())
		}
		if len(utxos) != len(want.unspent) {
			t.Fatalf("utxo of %s: %d outputs, blocks say %d", ha.addr, len(utxos), len(want.unspent))
		}
		var sum int64
		seen := map[utxo.Outpoint]bool{}
		for _, u := range utxos {
			op, err := query.ParseOutpoint(u.TxID + ":" + strconv.Itoa(int(u.Vout)))
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want.unspent[op]
			if !ok || seen[op] || w.value != u.Value {
				t.Fatalf("utxo of %s: %+v not unspent in the blocks (or twice, or another value)", ha.addr, u)
			}
			seen[op] = true
			b := c.Blocks[w.height]
			wantSt := query.Status{Confirmed: true, BlockHeight: w.height, BlockHash: b.BlockHash().String(),
				BlockTime: b.Header.Timestamp.Unix()}
			if u.Status != wantSt {
				t.Fatalf("utxo %s: status %+v, want %+v", op, u.Status, wantSt)
			}
			sum += u.Value
		}
		// The counters and the listing agree with each other too.
		if uint64(sum) != want.stats.FundedTxoSum-want.stats.SpentTxoSum {
			t.Fatalf("utxo of %s sum to %d, stats say %d", ha.addr, sum, want.stats.FundedTxoSum-want.stats.SpentTxoSum)
		}
		if len(utxos) > 0 {
			var objs []json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &objs); err != nil {
				t.Fatal(err)
			}
			if keys := rawKeys(t, objs[0]); !slices.Equal(keys, []string{"status", "txid", "value", "vout"}) {
				t.Fatalf("utxo keys %v", keys)
			}
			var o struct{ Status json.RawMessage }
			_ = json.Unmarshal(objs[0], &o)
			if keys := rawKeys(t, o.Status); !slices.Equal(keys, []string{"block_hash", "block_height", "block_time", "confirmed"}) {
				t.Fatalf("utxo status keys %v", keys)
			}
		}
		// The generator's own wallet is a third witness.
		var genN int
		for coin := range c.Gen.Unspent() {
			if coin.KeyIndex == cfg.Hot[i].KeyIndex && coin.Type == cfg.Hot[i].Type {
				genN++
				if !seen[utxo.Outpoint{Hash: coin.OutPoint.Hash, Index: coin.OutPoint.Index}] {
					t.Fatalf("generator's unspent %v missing from utxo of %s", coin.OutPoint, ha.addr)
				}
			}
		}
		if genN != len(utxos) {
			t.Fatalf("generator holds %d outputs of %s, utxo lists %d", genN, ha.addr, len(utxos))
		}
		// The scripthash route lists the same, in the same order.
		rec2 := getOK(t, h, "/scripthash/"+ha.scriptHash()+"/utxo", "application/json")
		if rec2.Body.String() != rec.Body.String() {
			t.Fatalf("scripthash utxo differs from address utxo")
		}
	}

	// An empty address: zero counters and an empty array, never null.
	p2tr := hotAddress(t, cfg, 1)
	if !strings.HasPrefix(p2tr.addr, "bcrt1p") {
		t.Fatalf("hot address 1 is %s, want a regtest taproot address", p2tr.addr)
	}
	rec := getOK(t, h, "/address/"+p2tr.addr+"/utxo", "application/json")
	if rec.Body.String() != "[]" {
		t.Fatalf("utxo of an empty address: %s", rec.Body.String())
	}
	// Bech32 in upper case is the same address.
	var up ScriptStats
	getJSON(t, h, "/address/"+strings.ToUpper(p2tr.addr), &up)
	if up.Address != strings.ToUpper(p2tr.addr) || up.ChainStats != (query.ChainStats{}) {
		t.Fatalf("upper-case address: %+v", up)
	}
}

// walk pages through target with ?limit=limit, from after (empty: the
// start), following X-Satnode-Next and checking the Link header says the
// same, and returns every output.
func walk(t *testing.T, h http.Handler, target, after string, limit int) (all []query.UTXO, pages int) {
	t.Helper()
	next := target + "?limit=" + strconv.Itoa(limit)
	if after != "" {
		next = target + "?after=" + after + "&limit=" + strconv.Itoa(limit)
	}
	for pages = 1; ; pages++ {
		if pages > 10_000 {
			t.Fatalf("walking %s: no end after %d pages", target, pages)
		}
		var page []query.UTXO
		rec := getJSON(t, h, next, &page)
		if len(page) > limit {
			t.Fatalf("%s: %d outputs, limit %d", next, len(page), limit)
		}
		all = append(all, page...)
		cursor := rec.Header().Get(HeaderNext)
		link := rec.Header().Get("Link")
		if cursor == "" {
			if link != "" {
				t.Fatalf("%s: Link %q without %s", next, link, HeaderNext)
			}
			return all, pages
		}
		if len(page) != limit {
			t.Fatalf("%s: a short page (%d) with a next cursor", next, len(page))
		}
		if last := page[len(page)-1]; cursor != last.TxID+":"+strconv.Itoa(int(last.Vout)) {
			t.Fatalf("%s: cursor %s is not the last output %s:%d", next, cursor, last.TxID, last.Vout)
		}
		next = target + "?after=" + cursor + "&limit=" + strconv.Itoa(limit)
		if want := "<" + next + `>; rel="next"`; link != want {
			t.Fatalf("Link %q, want %q", link, want)
		}
	}
}

func TestUTXOPaging(t *testing.T) {
	cfg := testConfig()
	c := rpctest.New(t, cfg, 150)
	h := esploraMux(New(c.Views, Options{MaxPage: 50}))
	ha := hotAddress(t, cfg, 0)

	var whole []query.UTXO
	getJSON(t, h, "/address/"+ha.addr+"/utxo", &whole)
	n := len(whole)
	for _, limit := range []int{1, 7, 50} {
		for _, target := range []string{"/address/" + ha.addr + "/utxo", "/api/scripthash/" + ha.scriptHash() + "/utxo"} {
			got, pages := walk(t, h, target, "", limit)
			if !slices.Equal(got, whole) {
				t.Fatalf("%s by %d: the pages (%d outputs) differ from the unpaged answer (%d)", target, limit, len(got), n)
			}
			if want := max(1, (n+limit-1)/limit); pages != want {
				t.Fatalf("%s by %d: %d pages for %d outputs", target, limit, pages, n)
			}
		}
	}
	// ?after alone pages by MaxPage.
	rec := get(t, h, "/address/"+ha.addr+"/utxo?after="+whole[9].TxID+":"+strconv.Itoa(int(whole[9].Vout)))
	var rest []query.UTXO
	if err := json.Unmarshal(rec.Body.Bytes(), &rest); err != nil || len(rest) != min(50, n-10) || rest[0] != whole[10] {
		t.Fatalf("after alone: %d outputs, %v", len(rest), err)
	}
	// A cursor is a position, not an element: one that names no output
	// still pages from where it would be.
	rec = get(t, h, "/address/"+ha.addr+"/utxo?limit=5&after="+strings.Repeat("0", 64)+":0")
	var first []query.UTXO
	if err := json.Unmarshal(rec.Body.Bytes(), &first); err != nil || !slices.Equal(first, whole[:5]) {
		t.Fatalf("after the zero outpoint: %s", rec.Body.String())
	}
	rec = get(t, h, "/address/"+ha.addr+"/utxo?limit=5&after="+strings.Repeat("f", 64)+":4294967295")
	if rec.Code != http.StatusOK || rec.Body.String() != "[]" || rec.Header().Get(HeaderNext) != "" {
		t.Fatalf("after the last possible outpoint: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMaxUTXOs(t *testing.T) {
	cfg := testConfig()
	c := rpctest.New(t, cfg, 150)
	big, small := hotAddress(t, cfg, 0), hotAddress(t, cfg, 2)
	nBig, nSmall := len(scanBlocks(c.Blocks, big.script).unspent), len(scanBlocks(c.Blocks, small.script).unspent)
	if nSmall >= nBig || nSmall < 2 {
		t.Fatalf("hot outputs: %d and %d", nBig, nSmall)
	}
	h := New(c.Views, Options{MaxUTXOs: nSmall, MaxPage: 20})

	rec := get(t, h, "/address/"+big.addr+"/utxo")
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "text/plain" {
		t.Fatalf("unpaged over the limit: %d %q", rec.Code, rec.Body.String())
	}
	msg := rec.Body.String()
	for _, want := range []string{strconv.Itoa(nBig), strconv.Itoa(nSmall), "limit=", "after=TXID:VOUT", HeaderNext} {
		if !strings.Contains(msg, want) {
			t.Fatalf("limit message %q does not mention %q", msg, want)
		}
	}
	checkStamp(t, rec, c)
	if rec := get(t, h, "/scripthash/"+big.scriptHash()+"/utxo"); rec.Code != http.StatusBadRequest {
		t.Fatalf("unpaged scripthash over the limit: %d", rec.Code)
	}
	// At the limit exactly it lists everything.
	var all []query.UTXO
	getJSON(t, h, "/address/"+small.addr+"/utxo", &all)
	if len(all) != nSmall {
		t.Fatalf("at the limit: %d outputs, want %d", len(all), nSmall)
	}
	if rec := get(t, New(c.Views, Options{MaxUTXOs: nSmall - 1}), "/address/"+small.addr+"/utxo"); rec.Code != http.StatusBadRequest {
		t.Fatalf("one over the limit: %d", rec.Code)
	}
	// Paging is how to get them.
	got, _ := walk(t, h, "/address/"+big.addr+"/utxo", "", 20)
	if len(got) != nBig {
		t.Fatalf("paged: %d outputs, want %d", len(got), nBig)
	}
	if rec := get(t, h, "/address/"+big.addr+"/utxo?limit=21"); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "1 to 20") {
		t.Fatalf("limit over MaxPage: %d %q", rec.Code, rec.Body.String())
	}
}

func TestNoView(t *testing.T) {
	for _, h := range []http.Handler{New(&app.Views{}, Options{}), New(nil, Options{})} {
		for _, target := range []string{"/blocks/tip/height", "/address/x", "/block-height/1"} {
			rec := get(t, h, target)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "text/plain" ||
				!strings.Contains(rec.Body.String(), "no committed state") {
				t.Fatalf("%s before the first commit: %d %q %q", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
		}
	}
}

func TestMethods(t *testing.T) {
	c := rpctest.New(t, testConfig(), 20)
	h := New(c.Views, Options{})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, "BREW"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/blocks/tip/height", strings.NewReader("x")))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" ||
			rec.Header().Get("Content-Type") != "text/plain" {
			t.Fatalf("%s: %d %v", m, rec.Code, rec.Header())
		}
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Head(srv.URL + "/blocks/tip/hash")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestReorg(t *testing.T) {
	cfg := testConfig()
	c := rpctest.New(t, cfg, 140)
	h := New(c.Views, Options{MaxPage: 10})
	ha := hotAddress(t, cfg, 0)
	fork := c.Fork(7)
	c.Extend(5)

	old := slices.Clone(c.Blocks)
	var before []query.UTXO
	getJSON(t, h, "/address/"+ha.addr+"/utxo", &before)
	rec := get(t, h, "/address/"+ha.addr+"/utxo?limit=10")
	cursor := rec.Header().Get(HeaderNext)
	if cursor == "" {
		t.Fatal("no cursor on the first page")
	}

	c.Reorg(fork, 8)
	if c.Tip() != 148 {
		t.Fatalf("tip %d after the reorg", c.Tip())
	}
	rec = getOK(t, h, "/blocks/tip/height", "text/plain")
	if rec.Body.String() != "148" {
		t.Fatalf("tip height after the reorg: %s", rec.Body.String())
	}
	checkStamp(t, rec, c)
	if rec := getOK(t, h, "/blocks/tip/hash", "text/plain"); rec.Body.String() != c.Blocks[148].BlockHash().String() {
		t.Fatalf("tip hash after the reorg: %s", rec.Body.String())
	}
	for height := 141; height <= 145; height++ {
		stale := old[height].BlockHash().String()
		if stale == c.Blocks[height].BlockHash().String() {
			t.Fatalf("block %d is on both branches", height)
		}
		rec := getOK(t, h, "/block/"+stale+"/status", "application/json")
		if rec.Body.String() != `{"in_best_chain":false,"height":null,"next_best":null}` {
			t.Fatalf("status of stale block %d: %s", height, rec.Body.String())
		}
		if rec := get(t, h, "/block/"+stale+"/header"); rec.Code != http.StatusNotFound || rec.Body.String() != "Block not found" {
			t.Fatalf("header of stale block %d: %d %s", height, rec.Code, rec.Body.String())
		}
		if rec := getOK(t, h, "/block-height/"+strconv.Itoa(height), "text/plain"); rec.Body.String() != c.Blocks[height].BlockHash().String() {
			t.Fatalf("block-height/%d after the reorg: %s", height, rec.Body.String())
		}
	}
	var st BlockStatus
	getJSON(t, h, "/block/"+c.Blocks[140].BlockHash().String()+"/status", &st)
	if st.NextBest == nil || *st.NextBest != c.Blocks[141].BlockHash().String() {
		t.Fatalf("fork point's next_best after the reorg: %v", st.NextBest)
	}

	want := scanBlocks(c.Blocks, ha.script)
	var stats ScriptStats
	getJSON(t, h, "/address/"+ha.addr, &stats)
	if stats.ChainStats != want.stats {
		t.Fatalf("stats after the reorg %+v, blocks say %+v", stats.ChainStats, want.stats)
	}
	var after []query.UTXO
	getJSON(t, h, "/address/"+ha.addr+"/utxo", &after)
	if len(after) != len(want.unspent) {
		t.Fatalf("utxo after the reorg: %d outputs, blocks say %d", len(after), len(want.unspent))
	}
	for _, u := range after {
		op, _ := query.ParseOutpoint(u.TxID + ":" + strconv.Itoa(int(u.Vout)))
		w, ok := want.unspent[op]
		if !ok || u.Status.BlockHash != c.Blocks[w.height].BlockHash().String() {
			t.Fatalf("utxo %+v after the reorg: not on the new branch", u)
		}
	}
	if slices.Equal(before, after) {
		t.Fatal("the reorg changed nothing for the hot address; pick another fork salt")
	}
	// A cursor from before the reorg is still a position: it pages on in
	// the new state, from where it would be there.
	op, _ := query.ParseOutpoint(cursor)
	rest, _ := walk(t, h, "/address/"+ha.addr+"/utxo", cursor, 10)
	var wantRest []query.UTXO
	for _, u := range after {
		o, _ := query.ParseOutpoint(u.TxID + ":" + strconv.Itoa(int(u.Vout)))
		if outpointAfter(o, op) {
			wantRest = append(wantRest, u)
		}
	}
	if !slices.Equal(rest, wantRest) {
		t.Fatalf("old cursor pages %d outputs, want %d", len(rest), len(wantRest))
	}
}

// outpointAfter orders outpoints as the index does: txid bytes as stored,
// then vout.
func outpointAfter(a, b utxo.Outpoint) bool {
	if c := bytes.Compare(a.Hash[:], b.Hash[:]); c != 0 {
		return c > 0
	}
	return a.Index > b.Index
}
