package native_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// pendingView is a view with n pending blocks at heights 15.. (two per
// height, in (height, hash) order as the view keeps them), every third one
// applied (canonical); unendorsed counts the others not endorsed.
func pendingView(t *testing.T, n int) (views *app.Views, listed []app.BlockRef, unendorsed int) {
	t.Helper()
	v := &app.View{ChainID: "hand", Height: 7, Time: time.Unix(1700000000, 0).UTC(), Params: utxo.RegTest(),
		FinalityDepth: 6, Tip: app.BlockRef{Height: 20, Hash: hashOf("20")},
		Final: app.BlockRef{Height: 14, Hash: hashOf("14")}, TotalPower: 3, NeededPower: 2}
	for i := range n {
		p := app.PendingBlock{BlockRef: app.BlockRef{Height: 15 + int32(i/2), Hash: hashOf(fmt.Sprint("p", i))},
			Canonical: i%3 == 0, Endorsed: i%4 == 0}
		v.Pending = append(v.Pending, p)
		if !p.Canonical {
			listed = append(listed, p.BlockRef)
			if !p.Endorsed {
				unendorsed++
			}
		}
	}
	slices.SortFunc(v.Pending, func(a, b app.PendingBlock) int {
		if a.Height != b.Height {
			return int(a.Height - b.Height)
		}
		return bytes.Compare(a.Hash[:], b.Hash[:])
	})
	slices.SortFunc(listed, func(a, b app.BlockRef) int {
		if a.Height != b.Height {
			return int(a.Height - b.Height)
		}
		return bytes.Compare(a.Hash[:], b.Hash[:])
	})
	v.Unendorsed = unendorsed
	views = &app.Views{}
	snap, err := memstore.New().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	views.Publish(v, snap, nil)
	return views, listed, unendorsed
}

type endorsementsPage struct {
	Unendorsed int `json:"unendorsed"`
	Blocks     []struct {
		Height    int32  `json:"height"`
		Hash      string `json:"hash"`
		Canonical bool   `json:"canonical"`
	} `json:"blocks"`
	Next *string `json:"next"`
}

// TestEndorsementsPaged: walking /v1/endorsements by its Link header
// lists every pending block not yet applied, once, in (height, hash)
// order, and no applied one; the cursor is in X-Satnode-Next, the Link
// header and the body alike.
func TestEndorsementsPaged(t *testing.T) {
	views, want, unendorsed := pendingView(t, 23)
	_, srv := serve(t, views, native.Options{MaxPage: 50})
	var got []app.BlockRef
	path := "/v1/endorsements?limit=4"
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("more pages than blocks: the walk does not end")
		}
		var p endorsementsPage
		h, body := get(t, srv, path, http.StatusOK, &p)
		if p.Unendorsed != unendorsed || len(p.Blocks) > 4 {
			t.Fatalf("%s: %s", path, body)
		}
		for _, b := range p.Blocks {
			if b.Canonical {
				t.Fatalf("%s lists the applied block %d %s", path, b.Height, b.Hash)
			}
			got = append(got, app.BlockRef{Height: b.Height, Hash: hashFromStr(t, b.Hash)})
		}
		next := h.Get(native.HeaderNext)
		if (next == "") != (p.Next == nil) || (p.Next != nil && *p.Next != next) {
			t.Fatalf("%s: header %q, body next %v", path, next, p.Next)
		}
		if next == "" {
			if h.Get("Link") != "" {
				t.Fatalf("%s: Link %q on the last page", path, h.Get("Link"))
			}
			break
		}
		last := p.Blocks[len(p.Blocks)-1]
		if next != strconv.Itoa(int(last.Height))+":"+last.Hash {
			t.Fatalf("%s: cursor %q, want the last block listed", path, next)
		}
		link := h.Get("Link")
		target, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		if !ok || target != "/v1/endorsements?after="+next+"&limit=4" {
			t.Fatalf("%s: Link %q", path, link)
		}
		path = target
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walk listed %d blocks %v, want %d %v", len(got), got, len(want), want)
	}
	// Unpaged: the first MaxPage blocks.
	var all endorsementsPage
	get(t, srv, "/v1/endorsements", http.StatusOK, &all)
	if len(all.Blocks) != len(want) || all.Next != nil {
		t.Fatalf("unpaged: %d blocks, next %v; want %d and none", len(all.Blocks), all.Next, len(want))
	}
}

// TestEndorsementsBadPage: bad limits and cursors are 400s that say what
// is expected.
func TestEndorsementsBadPage(t *testing.T) {
	views, _, _ := pendingView(t, 5)
	_, srv := serve(t, views, native.Options{MaxPage: 10})
	good := hashOf("x").String()
	for _, tc := range []struct{ query, want string }{
		{"limit=0", "from 1 to 10"},
		{"limit=11", "from 1 to 10"},
		{"limit=-1", "from 1 to 10"},
		{"limit=%2B3", "from 1 to 10"},
		{"limit=", "from 1 to 10"},
		{"limit=abc", "from 1 to 10"},
		{"after=", "HEIGHT:HASH"},
		{"after=15", "HEIGHT:HASH"},
		{"after=15:", "HEIGHT:HASH"},
		{"after=-1:" + good, "HEIGHT:HASH"},
		{"after=%2B1:" + good, "HEIGHT:HASH"},
		{"after=99999999999:" + good, "HEIGHT:HASH"},
		{"after=15:" + good[:63], "HEIGHT:HASH"},
		{"after=15:" + good[:63] + "g", "HEIGHT:HASH"},
		{"after=15:" + good + "00", "HEIGHT:HASH"},
		{"after=" + good + ":15", "HEIGHT:HASH"},
		{"after=15%3B" + good, "HEIGHT:HASH"},
		{"limit=%zz", "invalid query string"},
	} {
		var e struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}
		get(t, srv, "/v1/endorsements?"+tc.query, http.StatusBadRequest, &e)
		if e.Code != http.StatusBadRequest || !strings.Contains(e.Error, tc.want) {
			t.Errorf("?%s: %+v, want a message with %q", tc.query, e, tc.want)
		}
		if strings.Contains(tc.want, "HEIGHT") && !strings.Contains(e.Error, native.HeaderNext) {
			t.Errorf("?%s: %q does not say where the cursor comes from", tc.query, e.Error)
		}
	}
	// A cursor past everything is an empty last page; one before
	// everything is the first page.
	var p endorsementsPage
	get(t, srv, "/v1/endorsements?after="+url.QueryEscape("2147483647:"+good), http.StatusOK, &p)
	if len(p.Blocks) != 0 || p.Next != nil {
		t.Fatalf("cursor past the end: %+v", p)
	}
	get(t, srv, "/v1/endorsements?after=0:"+good, http.StatusOK, &p)
	if len(p.Blocks) != 3 {
		t.Fatalf("cursor before the start: %d blocks, want the 3 not applied", len(p.Blocks))
	}
}

func hashFromStr(t *testing.T, s string) chainhash.Hash {
	t.Helper()
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		t.Fatal(err)
	}
	return *h
}
