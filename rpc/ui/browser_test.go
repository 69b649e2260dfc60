package ui_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/rpc"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

func address(i uint32) tx.Address { return tx.AddressOf(chaingen.Key(77, i).PubKey()) }

// world publishes views for the server: the rpctest chain's store and
// blocks (so block statistics and coins are real) with a consensus
// summary made up around them, which rpctest does not have.
type world struct {
	t     *testing.T
	c     *rpctest.Chain
	views *app.Views
}

// The made-up stake: 10 in all, 7 needed to endorse (two thirds, rounded
// up); "charlie" is jailed and has none.
var (
	validators = []staking.Validator{
		{Operator: address(1), EndorserKey: address(11), Moniker: "alpha", CommissionBps: 500, Tokens: 6, SelfStake: 6},
		{Operator: address(2), EndorserKey: address(12), Moniker: "bravo <b>", CommissionBps: 1000, Tokens: 4, SelfStake: 1},
		{Operator: address(3), EndorserKey: address(13), Moniker: "charlie", Tokens: 2, SelfStake: 2, Jailed: true,
			JailedUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	powers        = map[tx.Address]int64{address(1): 6, address(2): 4}
	synchronizers = []staking.Synchronizer{{Address: address(21), Bond: 5000, Payout: address(22)}}
)

// publish makes the chain's latest state the server's latest view, with
// pending as the pending blocks and best as the best header, and sends
// ev (the chain's commit event) to the stream.
func (w *world) publish(ev *app.Event, pending []app.PendingBlock, best app.BlockRef) {
	w.t.Helper()
	cv, err := w.c.Views.Acquire()
	if err != nil {
		w.t.Fatal(err)
	}
	defer cv.Release()
	v := &app.View{ChainID: "ui-test", Height: cv.Height, AppHash: cv.AppHash, Time: cv.Time,
		AppHashVersion: cv.AppHashVersion, Commitments: cv.Commitments, Params: cv.Params,
		FinalityDepth: cv.FinalityDepth, Tip: cv.Tip, TipWork: cv.TipWork, Final: cv.Final, BestHeader: best,
		Endorsed: cv.Tip, Pending: pending, Validators: validators, Powers: powers, Synchronizers: synchronizers,
		TotalPower: 10, NeededPower: 7}
	for _, p := range pending {
		if !p.Endorsed {
			v.Unendorsed++
		}
	}
	snap, err := w.c.Store.Snapshot()
	if err != nil {
		w.t.Fatal(err)
	}
	w.views.Publish(v, snap, ev)
}

// js quotes s as a JavaScript string literal (the test's strings are
// ASCII, where Go's quoting is JavaScript's).
func js(s string) string { return fmt.Sprintf("%q", s) }

// TestStatusPageInBrowser loads the status page in a headless Chromium:
// the tips, a pending block's stake bar, the validators, synchronizers and
// latest blocks show; a block applied afterwards appears live, from the
// stream, without a reload; the lookup box finds a coin, a script hash's
// coins, and shows a bad address's error in the page. Screenshots go to
// $SATNODE_ARTIFACTS (or the test's temporary directory).
func TestStatusPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	br := startBrowser(t) // first: a missing browser fails or skips before any work
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 40
	c := rpctest.New(t, cfg, 30)
	w := &world{t: t, c: c, views: &app.Views{}}
	t.Cleanup(w.views.Close)

	tip := c.Tip()
	tipHash := c.Blocks[tip].BlockHash().String()
	pendingHash := chainhash.DoubleHashH([]byte("a competing header"))
	pending := app.PendingBlock{BlockRef: app.BlockRef{Height: tip + 1, Hash: pendingHash}, Submitter: address(21),
		Endorsers: []tx.Address{address(12)}, EndorsedPower: 4}
	w.publish(nil, []app.PendingBlock{pending}, pending.BlockRef)

	srv, err := rpc.New(rpc.Config{Listen: "127.0.0.1:0",
		NodeState: func() native.NodeState { return native.NodeState{State: native.StateLive, Height: 42} }}, w.views)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	base := "http://" + srv.Addr()
	dir := artifactDir(t)

	p := br.newPage()
	p.must("Runtime.enable", nil, nil)
	p.must("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 800,
		"deviceScaleFactor": 1, "mobile": false}, nil)
	// A long poll period: what changes after the load can only come from
	// the stream.
	p.navigate(base + "/ui?poll=600")
	p.waitFor("the first state shows", `(() => {
		const $ = (id) => document.getElementById(id);
		const tip = $("tip-canonical").dataset;
		if (tip.height !== `+js(fmt.Sprint(tip))+` || tip.hash !== `+js(tipHash)+`) return "canonical tip " + tip.height + " " + tip.hash;
		if ($("tip-best-header").dataset.height !== `+js(fmt.Sprint(tip+1))+`) return "best header " + $("tip-best-header").dataset.height;
		if ($("tip-endorsed").dataset.hash !== `+js(tipHash)+`) return "endorsed tip " + $("tip-endorsed").dataset.hash;
		if ($("tip-final").dataset.height !== `+js(fmt.Sprint(tip-6))+`) return "final " + $("tip-final").dataset.height;
		const bar = document.querySelector('.stake-bar[data-hash=`+js(pendingHash.String())+`]');
		if (!bar) return "no stake bar for the pending block";
		if (bar.dataset.percent !== "57" || bar.dataset.endorsed !== "4" || bar.dataset.needed !== "7") return "stake bar " + JSON.stringify(bar.dataset);
		if (bar.querySelector(".pct").textContent !== "57%" || bar.querySelector(".fill").style.width !== "57%") return "stake bar shows " + bar.textContent;
		const rows = document.querySelectorAll("#blocks tr[data-height]");
		if (rows.length !== 10 || rows[0].dataset.height !== `+js(fmt.Sprint(tip))+`) return rows.length + " block rows, first " + (rows[0] && rows[0].dataset.height);
		if (document.querySelectorAll("#validators tr[data-operator]").length !== 3) return "validators";
		if (!document.querySelector('#validators tr[data-jailed="true"]')) return "no jailed validator";
		if (!$("validators").textContent.includes("bravo <b>")) return "moniker not shown as text";
		if (document.querySelectorAll("#synchronizers tr[data-address]").length !== 1) return "synchronizers";
		if ($("node-state").dataset.state !== "live") return "node state " + $("node-state").dataset.state;
		if ($("stream-state").dataset.state !== "open") return "stream " + $("stream-state").dataset.state;
		if ($("errors").children.length !== 0) return "errors shown: " + $("errors").textContent;
		return "";
	})()`)
	p.screenshot(filepath.Join(dir, "ui-before.png"))

	// A block is applied: the pending header is gone, the tip moves.
	if err := p.eval(`window.noReload = true`, nil); err != nil {
		t.Fatal(err)
	}
	sub := c.Views.Subscribe(8)
	defer sub.Close()
	c.Extend(1)
	var ev *app.Event
	select {
	case ev = <-sub.C:
	case <-time.After(browserWait):
		t.Fatal("the chain published no event")
	}
	newTip := c.Tip()
	newHash := c.Blocks[newTip].BlockHash().String()
	w.publish(ev, nil, app.BlockRef{Height: newTip, Hash: c.Blocks[newTip].BlockHash()})
	p.waitFor("the new block shows live", `(() => {
		const $ = (id) => document.getElementById(id);
		if (window.noReload !== true) return "the page reloaded";
		const tip = $("tip-canonical").dataset;
		if (tip.height !== `+js(fmt.Sprint(newTip))+` || tip.hash !== `+js(newHash)+`) return "canonical tip " + tip.height;
		const row = document.querySelector('#blocks tr[data-height=`+js(fmt.Sprint(newTip))+`]');
		if (!row || row.dataset.hash !== `+js(newHash)+`) return "no row for the new block";
		if (document.querySelector("#blocks tr[data-height]") !== row) return "the new block is not the first row";
		if (document.querySelectorAll("#blocks tr[data-height]").length !== 10) return "block rows";
		if (document.querySelector(".stake-bar")) return "the pending block is still listed";
		if ($("tip-best-header").dataset.height !== `+js(fmt.Sprint(newTip))+`) return "best header " + $("tip-best-header").dataset.height;
		if ($("errors").children.length !== 0) return "errors shown: " + $("errors").textContent;
		return "";
	})()`)
	p.screenshot(filepath.Join(dir, "ui-after.png"))

	// The lookup box: an outpoint that is not a coin, an address that is
	// not one, the new block's coinbase (unspent: not mature) and its
	// script hash.
	coinbase := c.Blocks[newTip].Transactions[0]
	outpoint := coinbase.TxHash().String() + ":0"
	sh := sha256.Sum256(coinbase.TxOut[0].PkScript)
	for _, tc := range []struct{ input, kind, status, contains string }{
		{strings.Repeat("ab", 32) + ":7", "outpoint", "notfound", "No unspent output"},
		{"not-an-address", "", "error", ": 400"},
		{outpoint, "outpoint", "ok", "Unspent"},
		{hex.EncodeToString(sh[:]), "scripthash", "ok", outpoint}, // last: the screenshot shows it
	} {
		p.waitFor("lookup "+tc.input, `(() => {
			const $ = (id) => document.getElementById(id);
			const r = $("lookup-result");
			if (r.dataset.input !== `+js(tc.input)+`) {
				r.dataset.input = `+js(tc.input)+`;
				r.dataset.status = "";
				$("lookup-input").value = `+js(tc.input)+`;
				$("lookup-form").requestSubmit();
			}
			if (r.dataset.status !== `+js(tc.status)+` || r.dataset.kind !== `+js(tc.kind)+`) return "result " + r.dataset.kind + " " + r.dataset.status + ": " + r.textContent;
			if (!r.textContent.includes(`+js(tc.contains)+`) && !r.querySelector('[data-outpoint=`+js(tc.contains)+`]')) return "result lacks " + `+js(tc.contains)+` + ": " + r.textContent;
			return "";
		})()`)
	}
	if err := p.eval(`document.getElementById("lookup-section").scrollIntoView()`, nil); err != nil {
		t.Fatal(err)
	}
	p.screenshot(filepath.Join(dir, "ui-lookup.png"))
	if thrown := p.thrown(); len(thrown) > 0 {
		t.Errorf("the page threw or logged errors:\n%s", strings.Join(thrown, "\n"))
	}
}

// TestStatusPageBeforeFirstCommit: a node with no committed state yet
// (restoring a snapshot, then catching up) shows its progress and ETA
// from /v1/status's "node" object, refreshed by polling; the other
// sections say there is no state yet (no errors). When the server goes
// away the page shows the failures; nothing throws.
func TestStatusPageBeforeFirstCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	br := startBrowser(t)
	eta := func(s int64) *int64 { return &s }
	var state atomic.Pointer[native.NodeState]
	state.Store(&native.NodeState{State: native.StateSyncing, Restore: &native.RestoreProgress{Phase: "coins",
		Chunks: 17, ChunksTotal: 40, Bytes: 17 << 20, BytesTotal: 40 << 20, Coins: 425, CoinsTotal: 1000,
		Percent: 42.5, ETASeconds: eta(3600)}, ETASeconds: eta(3600)})
	views := &app.Views{}
	t.Cleanup(views.Close)
	srv, err := rpc.New(rpc.Config{Listen: "127.0.0.1:0", NodeState: func() native.NodeState { return *state.Load() }}, views)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	dir := artifactDir(t)
	p := br.newPage()
	p.must("Runtime.enable", nil, nil)
	p.must("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 800,
		"deviceScaleFactor": 1, "mobile": false}, nil)
	p.navigate("http://" + srv.Addr() + "/ui?poll=1")
	p.waitFor("the restore shows", `(() => {
		const $ = (id) => document.getElementById(id);
		if ($("node-state").dataset.state !== "state_syncing") return "node state " + $("node-state").dataset.state;
		if ($("sync-progress").dataset.percent !== "42.5") return "progress " + $("sync-progress").dataset.percent;
		if (!$("sync-text").textContent.includes("coins") || !$("sync-text").textContent.includes("ETA 1h 00m")) return "text " + $("sync-text").textContent;
		if (!$("sync-kv").textContent.includes("17 / 40")) return "details " + $("sync-kv").textContent;
		if ($("tip-canonical").dataset.height !== "") return "a tip before any state";
		if ($("errors").children.length !== 0) return "errors shown: " + $("errors").textContent;
		if (!$("validators").textContent.includes("no committed state yet")) return "validators: " + $("validators").textContent;
		return "";
	})()`)
	p.screenshot(filepath.Join(dir, "ui-restoring.png"))

	state.Store(&native.NodeState{State: native.StateCatchingUp, Height: 500, Target: 2000, BlocksPerSecond: 12.5,
		ETASeconds: eta(120)})
	p.waitFor("the catch-up shows", `(() => {
		const $ = (id) => document.getElementById(id);
		if ($("node-state").dataset.state !== "catching_up") return "node state " + $("node-state").dataset.state;
		if ($("sync-progress").dataset.percent !== "25.0") return "progress " + $("sync-progress").dataset.percent;
		if (!$("sync-text").textContent.includes("ETA 2m 00s")) return "text " + $("sync-text").textContent;
		if (!$("sync-kv").textContent.includes("12.5 blocks/s")) return "details " + $("sync-kv").textContent;
		return "";
	})()`)

	// The server goes away: the page says so, and keeps trying.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the failures show", `(() => {
		const $ = (id) => document.getElementById(id);
		if ($("stream-state").dataset.state !== "closed") return "stream " + $("stream-state").dataset.state;
		if (!$("errors").querySelector('[data-key="status"]')) return "errors shown: " + $("errors").textContent;
		if ($("err-status").textContent === "") return "no error under the tips";
		return "";
	})()`)
	p.screenshot(filepath.Join(dir, "ui-server-gone.png"))
	if thrown := p.thrown(); len(thrown) > 0 {
		t.Errorf("the page threw or logged errors:\n%s", strings.Join(thrown, "\n"))
	}
}
