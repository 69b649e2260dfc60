package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestLive runs the live path end to end with real processes on 127.0.0.1:
// four btcd regtest nodes peered together, four satnode validators each
// following its own btcd (endorsers), two of them synchronizers. Blocks
// from the generator (every common script type) are given to btcd, and
// flow from there into every node's UTXO set. On the way:
//   - a synchronizer is killed mid-catch-up and restarted, while the other
//     carries on alone;
//   - the latency from btcd accepting a block to all four nodes having
//     committed it is measured over 50+ blocks (logged, not asserted);
//   - invalidateblock on every btcd forces a 3-block reorg onto a branch
//     with conflicting transactions, and satnode follows;
//   - proofs of 1,000+ outpoints (unspent, spent, orphaned by the reorg,
//     never created), fetched from nodes chosen at random before and after
//     the reorg, all say what btcd says, and one `satnode verify` checks
//     them from the header at height 1 after the reorg, those of the
//     abandoned branch included (liveproofs_test.go);
//   - a validator whose btcd is stopped stops endorsing, and the others
//     still make blocks canonical;
//   - a hostile synchronizer's bad-PoW header is refused, and the
//     mismatching bodies it serves over libp2p get it banned, with no
//     store changed;
//   - a node joining with an empty home syncs through CometBFT block sync
//     and libp2p bodies (its speed logged);
//
// and at the end every node's `satnode utxo info` MuHash is the same, and
// every node answers like btcd's gettxout for 1,000+ outpoints, spent and
// unspent, those of the orphaned branch included.
func TestLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 btcd and 5 satnode processes")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 14*time.Minute)
	defer cancel()
	const n, syncs = 4, 2
	ln := newLiveNet(t, n, syncs)
	g := newChainGen(t)
	var chain []*wire.MsgBlock // the best chain, chain[h-1] at height h
	next := func(gen *chaingen.Generator) *wire.MsgBlock {
		t.Helper()
		b, err := gen.Next()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	next(g) // the genesis block, which btcd has
	var err error

	// 1. A chain in btcd before satnode starts.
	const preload = 440
	for range preload {
		b := next(g)
		ln.submit(ctx, 0, b)
		chain = append(chain, b)
	}
	ln.waitBtcds(chain[preload-1].BlockHash())
	t.Logf("%v: %d blocks in 4 btcd nodes", time.Since(start).Round(time.Millisecond), preload)

	// 2. Catch-up, with synchronizer 0 killed in the middle of it.
	for i := range n {
		ln.start(i)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !ln.logHas(0, "synchronizer submitted headers") {
		if time.Now().After(deadline) {
			t.Fatal("node0's synchronizer submitted nothing in 90s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ln.procs[0].stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("node0 exited cleanly on SIGKILL?")
	}
	var tp tip
	ln.waitFor(30*time.Second, "node1's RPC", func() bool {
		tp, err = ln.tip(ctx, 1)
		return err == nil
	})
	if tp.BestHeaderHeight >= preload {
		t.Fatalf("catch-up already over (%d headers) when synchronizer 0 was killed", tp.BestHeaderHeight)
	}
	t.Logf("%v: synchronizer 0 killed with %d of %d headers on chain", time.Since(start).Round(time.Millisecond),
		tp.BestHeaderHeight, preload)
	atPreload := func(tp tip) bool { return tp.Height == preload && tp.Hash == chain[preload-1].BlockHash().String() }
	ln.waitAll([]int{1, 2, 3}, 3*time.Minute, "catch-up by synchronizer 1 alone", atPreload)
	t.Logf("%v: nodes 1-3 applied %d blocks; restarting node0", time.Since(start).Round(time.Millisecond), preload)
	ln.start(0)
	ln.waitAll(all(n), 2*time.Minute, "node0 back after the kill", atPreload)

	// 3. Live blocks, one at a time, each to another btcd: latency (with
	// a spammer beside it under SATNODE_SPAM).
	stopSpam := ln.spamDuring(ctx)
	const liveBlocks = 53
	var fork *chaingen.Generator
	var lat []time.Duration
	for k := range liveBlocks {
		if k == liveBlocks-3 {
			fork = g.Fork(0x5eed)
		}
		b := next(g)
		h := int32(len(chain) + 1)
		t0 := time.Now()
		ln.submit(ctx, k%n, b)
		t1 := ln.waitAll(all(n), time.Minute, "live block", func(tp tip) bool { return tp.Height >= h })
		lat = append(lat, t1.Sub(t0))
		chain = append(chain, b)
	}
	spamNote := stopSpam()
	p50, p95 := percentile(lat, 50), percentile(lat, 95)
	t.Logf("LATENCY btcd accept -> committed on all 4 nodes, %d blocks: p50 %v, p95 %v, max %v%s", len(lat),
		p50.Round(time.Millisecond), p95.Round(time.Millisecond), slices.Max(lat).Round(time.Millisecond), spamNote)
	writeMeasure(t, "latency", map[string]any{"blocks": len(lat), "p50_ms": p50.Milliseconds(),
		"p95_ms": p95.Milliseconds(), "max_ms": slices.Max(lat).Milliseconds()})

	// 4. Reorg: invalidateblock on every btcd, 3 blocks, then a longer
	// branch whose transactions conflict with the orphaned ones. Right
	// before it, proofs of outpoints of every kind from random nodes.
	top := len(chain)
	orphaned := slices.Clone(chain[top-3:])
	proofDir, prng := t.TempDir(), rand.New(rand.NewPCG(13, 4))
	before := ln.proveRound(ctx, prng, proofDir, "before", chain[top-1].BlockHash(), int32(top),
		beforeCategories(prng, chain, orphaned))
	for i, b := range ln.btcds {
		if err := b.InvalidateBlock(ctx, orphaned[0].BlockHash()); err != nil {
			t.Fatalf("btcd%d: invalidateblock: %v", i, err)
		}
	}
	chain = chain[:top-3]
	for range 4 {
		b := next(fork)
		ln.submit(ctx, 0, b)
		chain = append(chain, b)
	}
	g = fork
	if n := conflicts(orphaned, chain[len(chain)-4:]); n == 0 {
		t.Fatal("the branches have no conflicting transactions")
	} else {
		t.Logf("the new branch double-spends %d inputs of the orphaned one", n)
	}
	forkTip := chain[len(chain)-1].BlockHash()
	ln.waitBtcds(forkTip)
	ln.waitAll(all(n), time.Minute, "reorg", func(tp tip) bool { return tp.Hash == forkTip.String() })
	t.Logf("%v: reorg of 3 blocks to a 4-block branch followed by all nodes", time.Since(start).Round(time.Millisecond))
	// Proofs again, now that the orphaned coins are gone, and all verified
	// from the checkpoint, those of before the reorg included.
	after := ln.proveRound(ctx, prng, proofDir, "after", forkTip, int32(len(chain)),
		afterCategories(prng, chain, chain[len(chain)-4:], orphaned, before))
	if total := len(before.cases) + len(after.cases); total < 1000 {
		t.Fatalf("proofs of %d outpoints, want 1,000 or more", total)
	}
	ln.verifyProofs(ctx, prng, proofDir, before, after)
	t.Logf("%v: proofs before and after the reorg verified", time.Since(start).Round(time.Millisecond))

	// 5. btcd 3 stops: validator 3 stops endorsing; the others go on.
	ln.btcds[3].Stop(t)
	var unendorsed []chainhash.Hash
	for k := range 4 {
		b := next(g)
		ln.submit(ctx, k%3, b)
		chain = append(chain, b)
		h := int32(len(chain))
		ln.waitAll(all(n), time.Minute, "blocks with btcd3 down", func(tp tip) bool { return tp.Height >= h })
		unendorsed = append(unendorsed, b.BlockHash())
	}
	recs := ln.endorsements(ctx, 0)
	for _, h := range unendorsed {
		r, ok := recs[h.String()]
		if !ok {
			t.Fatalf("no endorsement record for %s", h)
		}
		if slices.Contains(r.Endorsers, ln.operators[3]) {
			t.Fatalf("validator 3 endorsed %s while its btcd was down", h)
		}
		if len(r.Endorsers) < 3 {
			t.Fatalf("block %s canonical with %d endorsers", h, len(r.Endorsers))
		}
	}
	ln.btcds[3].Restart(t)
	ln.btcds[3].Connect(t, ln.btcds[0])
	for _, b := range chain[len(chain)-4:] { // what it missed
		ln.submitTo(ctx, 3, serialize(t, b))
	}
	ln.btcds[3].WaitTip(t, chain[len(chain)-1].BlockHash(), time.Minute)
	b := next(g)
	ln.submit(ctx, 0, b)
	chain = append(chain, b)
	ln.waitFor(time.Minute, "validator 3 endorsing again", func() bool {
		r, ok := ln.endorsements(ctx, 0)[b.BlockHash().String()]
		return ok && slices.Contains(r.Endorsers, ln.operators[3])
	})
	t.Logf("%v: validator 3 stopped endorsing while its btcd was down, and resumed", time.Since(start).Round(time.Millisecond))
	// Every node at that block before the hostile phase compares states.
	ln.waitAll(all(n), time.Minute, "all nodes at the tip", func(tp tip) bool { return tp.Hash == b.BlockHash().String() })

	// 6. A hostile synchronizer.
	hostile := ln.hostile(ctx, g)
	defer hostile.host.Close()
	for _, b := range hostile.blocks {
		ln.submit(ctx, 1, b)
		chain = append(chain, b)
	}
	final := chain[len(chain)-1].BlockHash()
	ln.waitAll(all(n), time.Minute, "the hostile synchronizer's blocks, from honest sources",
		func(tp tip) bool { return tp.Hash == final.String() })
	ln.hostileBanned(ctx, hostile)

	// 7. A late joiner, with an empty home and no Bitcoin node.
	late := joinHome(t, ln.homes[0], ln.homes)
	lc, err := client.New(mustRPC(t, late))
	if err != nil {
		t.Fatal(err)
	}
	ln.homes = append(ln.homes, late)
	ln.clients = append(ln.clients, lc)
	ln.procs = append(ln.procs, nil)
	joinStart := time.Now()
	ln.start(n)
	want, _ := ln.tip(ctx, 0)
	ln.waitAll([]int{n}, 5*time.Minute, "late joiner", func(tp tip) bool { return tp.Hash == final.String() })
	joinTime := time.Since(joinStart)
	lateHeight := height(rpcClient(t, mustRPC(t, late)))
	t.Logf("LATE JOINER: %d CometBFT blocks (%d Bitcoin blocks) in %v: %.1f blocks/s", lateHeight, len(chain),
		joinTime.Round(time.Millisecond), float64(lateHeight)/joinTime.Seconds())
	writeMeasure(t, "late_joiner", map[string]any{"cometbft_blocks": lateHeight, "bitcoin_blocks": len(chain),
		"seconds": joinTime.Seconds(), "blocks_per_s": float64(lateHeight) / joinTime.Seconds()})
	if got, _ := ln.tip(ctx, n); got.MuHash != want.MuHash {
		t.Fatalf("late joiner MuHash %s, node0 %s", got.MuHash, want.MuHash)
	}

	// 8. Every running node's API, through btcd's own rpcclient, answers
	// like btcd; then stop everything and compare the stores' MuHash.
	checked, spent := ln.compareTxOuts(ctx, chain, orphaned, final)
	ln.checkMetrics(ln.homes[0], len(chain))
	for i, p := range ln.procs {
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("node%d on SIGTERM: %v", i, err)
		}
	}
	var mu0 string
	for i, home := range ln.homes {
		var info struct {
			Height int32  `json:"height"`
			Hash   string `json:"bestblock"`
			MuHash string `json:"muhash"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, "utxo", "info", "--home", home)), &info); err != nil {
			t.Fatal(err)
		}
		if info.Hash != final.String() {
			t.Fatalf("node%d: utxo info at %s, want %s", i, info.Hash, final)
		}
		if i == 0 {
			mu0 = info.MuHash
		} else if info.MuHash != mu0 {
			t.Fatalf("node%d: MuHash %s, node0 %s", i, info.MuHash, mu0)
		}
	}
	t.Logf("%v: %d nodes' MuHash %s; %d outpoints (%d spent or orphaned) agree with btcd's gettxout",
		time.Since(start).Round(time.Millisecond), len(ln.homes), mu0, checked, spent)
	for i, home := range ln.homes[:n] {
		ln.checkBodies(home, i, hostile.blocks)
	}
}

// conflicts counts the inputs of b that spend an outpoint a spends in
// another transaction.
func conflicts(a, b []*wire.MsgBlock) int {
	spent := map[wire.OutPoint]chainhash.Hash{}
	for _, blk := range a {
		for _, x := range blk.Transactions[1:] {
			for _, in := range x.TxIn {
				spent[in.PreviousOutPoint] = x.TxHash()
			}
		}
	}
	n := 0
	for _, blk := range b {
		for _, x := range blk.Transactions[1:] {
			for _, in := range x.TxIn {
				if h, ok := spent[in.PreviousOutPoint]; ok && h != x.TxHash() {
					n++
				}
			}
		}
	}
	return n
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(float64(p)/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// writeMeasure appends a measurement to $SATNODE_MEASURE_OUT, if set, for
// the closing note.
func writeMeasure(t *testing.T, name string, v map[string]any) {
	path := os.Getenv("SATNODE_MEASURE_OUT")
	if path == "" {
		return
	}
	v["name"] = name
	b, _ := json.Marshal(v)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	f.Write(append(b, '\n'))
}

type endorsementRec struct {
	Height    int32    `json:"height"`
	Hash      string   `json:"hash"`
	Endorsers []string `json:"endorsers"`
}

func (ln *liveNet) endorsements(ctx context.Context, i int) map[string]endorsementRec {
	ln.t.Helper()
	raw, err := ln.clients[i].Query(ctx, "/endorsements")
	if err != nil {
		ln.t.Fatal(err)
	}
	var recs []endorsementRec
	if err := json.Unmarshal(raw, &recs); err != nil {
		ln.t.Fatal(err)
	}
	m := make(map[string]endorsementRec, len(recs))
	for _, r := range recs {
		m[r.Hash] = r
	}
	return m
}

func (ln *liveNet) waitFor(timeout time.Duration, what string, cond func() bool) {
	ln.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			ln.t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// compareTxOuts asks every running node's API, through btcd's rpcclient,
// what btcd answers: getblockcount, getbestblockhash, getblockheader of
// the tip, and gettxout for all outputs of the last 20 blocks and of the
// orphaned branch, and a fixed random sample of the rest.
func (ln *liveNet) compareTxOuts(ctx context.Context, chain, orphaned []*wire.MsgBlock, final chainhash.Hash) (checked, spent int) {
	t := ln.t
	t.Helper()
	var all []wire.OutPoint
	add := func(b *wire.MsgBlock) {
		for _, x := range b.Transactions {
			h := x.TxHash()
			for v := range x.TxOut {
				all = append(all, wire.OutPoint{Hash: h, Index: uint32(v)})
			}
		}
	}
	var ops []wire.OutPoint
	for _, b := range orphaned {
		add(b)
	}
	for _, b := range chain[len(chain)-20:] {
		add(b)
	}
	ops = append(ops, all...)
	all = all[:0]
	for _, b := range chain[:len(chain)-20] {
		add(b)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, i := range rng.Perm(len(all))[:min(len(all), 1200)] {
		ops = append(ops, all[i])
	}
	type answer struct {
		found     bool
		value     int64
		script    string
		coinbase  bool
		confs     int64
		bestblock string
	}
	btcd := make([]answer, len(ops))
	for i, op := range ops {
		o, err := ln.btcds[0].Client.GetTxOut(ctx, op.Hash, op.Index, false)
		if err != nil {
			t.Fatal(err)
		}
		if o != nil {
			btcd[i] = answer{true, int64(math.Round(o.Value * 1e8)), o.ScriptPubKeyHex, o.Coinbase, o.Confirmations, o.BestBlock.String()}
		} else {
			spent++
		}
	}
	btcdRPC := btcRPCClient(t, ln.btcds[0].RPCAddr, ln.btcds[0].User, ln.btcds[0].Password)
	wantCount, err := btcdRPC.GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	for ni, home := range ln.homes {
		api := ln.apiClient(home)
		ln.waitFor(60*time.Second, fmt.Sprintf("node%d's API at %s", ni, final), func() bool {
			h, err := api.GetBestBlockHash()
			return err == nil && *h == final
		})
		count, err := api.GetBlockCount()
		if err != nil {
			t.Fatalf("node%d API: getblockcount: %v", ni, err)
		}
		best, err := api.GetBestBlockHash()
		if err != nil || *best != final || count != wantCount {
			t.Fatalf("node%d API: getblockcount %d, getbestblockhash %v (%v), btcd %d %s", ni, count, best, err, wantCount, final)
		}
		hdr, err := api.GetBlockHeaderVerbose(&final)
		if err != nil {
			t.Fatal(err)
		}
		want, err := btcdRPC.GetBlockHeaderVerbose(&final)
		if err != nil {
			t.Fatal(err)
		}
		if *hdr != *want {
			t.Fatalf("node%d API: getblockheader %+v, btcd %+v", ni, hdr, want)
		}
		for i, op := range ops {
			o, err := api.GetTxOut(&op.Hash, op.Index, false)
			if err != nil {
				t.Fatalf("node%d API: gettxout %v: %v", ni, op, err)
			}
			var got answer
			if o != nil {
				got = answer{true, int64(math.Round(o.Value * 1e8)), o.ScriptPubKey.Hex, o.Coinbase, o.Confirmations, o.BestBlock}
			}
			if got != btcd[i] {
				t.Fatalf("node%d API: %v: satnode %+v, btcd %+v", ni, op, got, btcd[i])
			}
		}
		api.Shutdown()
	}
	return len(ops), spent
}

// checkBodies: node i's body store holds the real bodies of the blocks the
// hostile peer served wrong, never the wrong ones.
func (ln *liveNet) checkBodies(home string, i int, blocks []*wire.MsgBlock) {
	t := ln.t
	t.Helper()
	s, err := p2p.OpenBodyStore(filepath.Join(home, node.BodiesDir), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, b := range blocks {
		raw, ok, err := s.Get(b.BlockHash())
		if err != nil || !ok {
			t.Fatalf("node%d: body %s: %v %v", i, b.BlockHash(), ok, err)
		}
		if !bytes.Equal(raw, serialize(t, b)) {
			t.Fatalf("node%d keeps a wrong body for %s", i, b.BlockHash())
		}
	}
}
