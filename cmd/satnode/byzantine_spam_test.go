package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/node/keyring"
)

// TestSpam is the spam scenario of the Byzantine suite, with real
// processes on 127.0.0.1: one btcd, four satnode validators following it
// (all endorsing, node0 also the synchronizer). After a 100-block
// catch-up, one funded account sends 1-unit transfers to a second account
// as fast as CheckTx admits them, for 30 s, into node3, while a new
// Bitcoin block reaches btcd every 1.5 s. It asserts:
//
//   - every Bitcoin block of the spam window becomes canonical within
//     maxSpamLag sidechain blocks of its endorsements: Q, the CometBFT
//     height of the block whose Endorse transaction gave the Bitcoin block
//     endorsers holding ≥ 2/3 of the power (found by decoding every
//     block's transactions and results over CometBFT RPC), and A, the
//     CometBFT height of the first committed state whose /btc-tip is at
//     or above the block (a poller reads /btc-tip every 20 ms with the
//     height of the state it answers from; between two samples A is an
//     upper bound, so the assertion A − Q ≤ maxSpamLag errs on the strict
//     side);
//   - the spammer's balance fell by exactly the fees of its transactions
//     (their "fee" events, payer = spammer, each also equal to the genesis
//     schedule for its size) plus the amounts its successful transfers
//     moved, which the receiver's balance holds;
//   - every transaction CheckTx admitted is in a block (the committed
//     nonce reaches the last admitted one), and no block carries more
//     than MempoolNonceWindow of them;
//   - every endorser key and the synchronizer key paid fees for their
//     transactions (testnet funds the role keys in genesis);
//   - a nonce MempoolNonceWindow+1 beyond the committed one is refused at
//     CheckTx with NonceGap, before and after the spam.
//
// It logs a line starting "SPAM:" with the counts.
func TestSpam(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 1 btcd and 4 satnode processes for a minute")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const (
		n          = 4
		preload    = 100 // coinbase maturity: later blocks carry transactions
		spamFor    = 30 * time.Second
		blockEvery = 1500 * time.Millisecond
		maxSpamLag = 2
		target     = 3 // the node the spammer talks to
	)
	ln := newLiveNetWith(t, liveNetOptions{Validators: n, Synchronizers: 1, Btcds: 1, Batch: 50})
	g := newChainGen(t)
	if _, err := g.Next(); err != nil { // the genesis block, which btcd has
		t.Fatal(err)
	}
	nextBlock := func() *wire.MsgBlock {
		t.Helper()
		b, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var top *wire.MsgBlock
	for range preload {
		top = nextBlock()
		ln.submit(ctx, 0, top)
	}
	for i := range n {
		ln.start(i)
	}
	ln.waitAll(all(n), 3*time.Minute, "catch-up", func(tp tip) bool { return tp.Hash == top.BlockHash().String() })
	t.Logf("%v: %d Bitcoin blocks applied by all nodes", time.Since(start).Round(time.Millisecond), preload)

	// The spammer and the receiver are fresh accounts: nothing but their
	// own transactions changes their balances (a role account would also
	// earn rewards).
	c := ln.clients[target]
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	op, err := keyring.Open(filepath.Join(ln.homes[target], node.KeysDir)).Get(node.KeyOperator)
	if err != nil {
		t.Fatal(err)
	}
	spammer, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	from, to := tx.AddressOf(spammer.PubKey()), tx.AddressOf(receiver.PubKey())
	if _, err := c.Send(ctx, op.Private, tx.Transfer{To: from, Amount: 1_000_000_000_000}, 0); err != nil {
		t.Fatalf("funding the spammer: %v", err)
	}
	// Send waited for the target node to commit the funding; node0 can be
	// a block behind it.
	node0 := rpcClient(t, mustRPC(t, ln.homes[0]))
	var before client.Account
	var h0 int64
	ln.waitFor(time.Minute, "the funding to reach node0", func() bool {
		h0, err = queryAt(ctx, node0, "/account/"+from.String(), &before)
		return err == nil
	})
	checkNonceGap(ctx, t, c, chainID, spammer, to, before.Nonce)

	// Spam, Bitcoin blocks and the /btc-tip poller, all bounded by the
	// spam window (the poller by the wait for the last block).
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	samples := make(chan []tipSample, 1)
	go func() { samples <- sampleTips(sampleCtx, node0) }()
	spamCtx, stopSpam := context.WithTimeout(ctx, spamFor)
	defer stopSpam()
	stats := make(chan spamStats, 1)
	go func() { stats <- spam(spamCtx, c, chainID, spammer, to, before.Nonce+1) }()
	var live []*wire.MsgBlock
	tick := time.NewTicker(blockEvery)
	for spamCtx.Err() == nil {
		select {
		case <-spamCtx.Done():
		case <-tick.C:
			b := nextBlock()
			ln.submit(ctx, 0, b)
			live = append(live, b)
		}
	}
	tick.Stop()
	st := <-stats
	if st.err != nil {
		t.Fatalf("spammer: %v", st.err)
	}
	last := live[len(live)-1].BlockHash().String()
	ln.waitAll(all(n), time.Minute, "the spam window's Bitcoin blocks", func(tp tip) bool { return tp.Hash == last })
	stopSampling()
	tips := <-samples
	// The wait above can see the last block on node0 between two of the
	// poller's samples, and stop it before it samples that state: one more.
	var lastTip tip
	if h, err := queryAt(ctx, node0, "/btc-tip", &lastTip); err == nil {
		tips = append(tips, tipSample{h, lastTip.Height})
	}
	t.Logf("%v: spam over: %d admitted (last nonce %d), refused %v, %d RPC errors; %d Bitcoin blocks canonical",
		time.Since(start).Round(time.Millisecond), st.admitted, st.last, st.refused, st.rpcErrs, len(live))

	// Every admitted transaction reaches a block: the committed nonce
	// catches up with the last one admitted.
	var after client.Account
	var hEnd int64
	ln.waitFor(time.Minute, "the spammer's transactions to be included", func() bool {
		hEnd, err = queryAt(ctx, node0, "/account/"+from.String(), &after)
		return err == nil && after.Nonce == st.last
	})
	checkNonceGap(ctx, t, c, chainID, spammer, to, after.Nonce)
	var recv client.Account
	if _, err := queryAt(ctx, node0, "/account/"+to.String(), &recv); err != nil {
		t.Fatal(err)
	}

	// The blocks of the spam window, decoded.
	_, gen, err := node.ReadGenesis(filepath.Join(ln.homes[0], "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	vp := ln.powers(ctx)
	sc := scanBlocks(ctx, t, node0, h0+1, hEnd, from, gen.Params, vp)
	if sc.feeMismatch != "" {
		t.Fatal(sc.feeMismatch)
	}
	if sc.txs != int(st.last-before.Nonce) || sc.failed != 0 {
		t.Fatalf("%d spam transactions in blocks (%d failed), nonces %d..%d admitted", sc.txs, sc.failed, before.Nonce+1, st.last)
	}
	if got, want := before.Balance-after.Balance, sc.fees+sc.moved; got != want {
		t.Fatalf("the spammer's balance fell by %d: fees %d + transfers %d = %d", got, sc.fees, sc.moved, want)
	}
	if recv.Balance != sc.moved {
		t.Fatalf("the receiver has %d, the spammer's transfers moved %d", recv.Balance, sc.moved)
	}
	if sc.txs < 100 {
		t.Fatalf("only %d spam transactions in %v: that is no spam", sc.txs, spamFor)
	}
	// The mempool holds at most a window of one account's transactions,
	// so no block carries more of them.
	if sc.maxPerBlock > app.MempoolNonceWindow {
		t.Fatalf("a block carries %d of the spammer's transactions, above the mempool window %d", sc.maxPerBlock, app.MempoolNonceWindow)
	}

	// Every endorser and the synchronizer paid their fees: testnet funds
	// the role keys.
	payers := []tx.Address{}
	for en := range vp.byEndorser {
		payers = append(payers, en)
	}
	syncKey, err := keyring.Open(filepath.Join(ln.homes[0], node.KeysDir)).Get(node.KeySynchronizer)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append(payers, syncKey.Address) {
		if sc.rolePaid[a] == 0 {
			t.Errorf("role key %s paid no fee for its transactions in CometBFT blocks %d..%d", a, h0+1, hEnd)
		}
	}

	// Endorsement quorum → canonical, per Bitcoin block.
	var maxLag, maxFromFirst, maxFromHeaders int64
	exact := 0
	for i, b := range live {
		hash := b.BlockHash()
		height := int32(preload + 1 + i)
		q, ok := sc.quorum[hash]
		if !ok {
			t.Fatalf("block %d (%s): no endorsement quorum found in CometBFT blocks %d..%d", height, hash, h0+1, hEnd)
		}
		a, isExact, ok := appliedAt(tips, height)
		if !ok {
			t.Fatalf("block %d (%s): the poller never saw it canonical", height, hash)
		}
		if isExact {
			exact++
		}
		lag := a - q
		if lag < 0 {
			t.Fatalf("block %d: canonical at CometBFT height %d before its quorum at %d", height, a, q)
		}
		if lag > maxSpamLag {
			t.Errorf("block %d (%s): quorum at CometBFT height %d, canonical at %d (exact: %v): %d blocks, want ≤ %d",
				height, hash, q, a, isExact, lag, maxSpamLag)
		}
		maxLag = max(maxLag, lag)
		maxFromFirst = max(maxFromFirst, a-sc.firstEndorsed[hash])
		maxFromHeaders = max(maxFromHeaders, a-sc.submitted[hash])
	}
	t.Logf("SPAM: %d txs admitted by CheckTx, %d included (CometBFT heights %d..%d, at most %d a block), fees paid %d (+%d transferred), "+
		"refused at CheckTx %v; %d Bitcoin blocks, max lag %d sidechain blocks from quorum to canonical (%d of %d measured exactly), "+
		"max %d from first endorsement, max %d from headers",
		st.admitted, sc.txs, h0+1, hEnd, sc.maxPerBlock, sc.fees, sc.moved, st.refused, len(live), maxLag, exact, len(live),
		maxFromFirst, maxFromHeaders)
	writeMeasure(t, "spam", map[string]any{"admitted": st.admitted, "included": sc.txs, "fees": sc.fees,
		"bitcoin_blocks": len(live), "max_lag_blocks": maxLag, "max_from_first_endorsement": maxFromFirst,
		"max_from_headers": maxFromHeaders})
	t.Logf("%v: done", time.Since(start).Round(time.Millisecond))
}

// checkNonceGap: a transfer whose nonce is one beyond the mempool window
// after the committed nonce is refused at CheckTx with NonceGap. The
// caller makes sure the committed nonce cannot move meanwhile.
func checkNonceGap(ctx context.Context, t *testing.T, c *client.Client, chainID string, key *btcec.PrivateKey, to tx.Address, committed uint64) {
	t.Helper()
	nonce := committed + app.MempoolNonceWindow + 1
	_, err := c.Broadcast(ctx, chainID, key, tx.Transfer{To: to, Amount: 1}, nonce)
	var te *client.TxError
	if !errors.As(err, &te) || te.Stage != "CheckTx" || te.Code != tx.CodeNonceGap {
		t.Fatalf("nonce %d (committed %d): got %v, want CheckTx code %d (NonceGap)", nonce, committed, err, tx.CodeNonceGap)
	}
}

// spamStats is what the spammer saw: CheckTx's answers.
type spamStats struct {
	admitted int
	last     uint64 // the highest nonce admitted
	refused  map[tx.Code]int
	rpcErrs  int
	err      error
}

// spam broadcasts transfers of 1 to to, with nonces from next on, as fast
// as the node's CheckTx admits them, until ctx ends. When the window is
// full (NonceGap) it waits for a commit to open it again.
func spam(ctx context.Context, c *client.Client, chainID string, key *btcec.PrivateKey, to tx.Address, next uint64) spamStats {
	st := spamStats{last: next - 1, refused: map[tx.Code]int{}}
	from := tx.AddressOf(key.PubKey())
	for ctx.Err() == nil {
		_, err := c.Broadcast(ctx, chainID, key, tx.Transfer{To: to, Amount: 1}, next)
		var te *client.TxError
		switch {
		case err == nil:
			st.admitted++
			st.last = next
			next++
		case errors.As(err, &te):
			st.refused[te.Code]++
			switch te.Code {
			case tx.CodeNonceGap, tx.CodeBadNonce:
				// The window is full, or a broadcast that looked failed
				// was admitted after all: read where the account is.
				for ctx.Err() == nil {
					a, err := c.Account(ctx, from)
					if err == nil && te.Code == tx.CodeBadNonce {
						// Used (committed) or taken (in the mempool):
						// either way admitted once.
						st.last = max(st.last, next)
						next = max(next+1, a.Nonce+1)
						break
					}
					if err == nil && next <= a.Nonce+app.MempoolNonceWindow {
						break
					}
					sleepCtx(ctx, 10*time.Millisecond)
				}
			default:
				st.err = err
				return st
			}
		case ctx.Err() != nil:
		case strings.Contains(err.Error(), "already exists in cache"):
			st.last = next
			next++
		default:
			// The node is busy: try the same nonce again.
			st.rpcErrs++
			sleepCtx(ctx, 20*time.Millisecond)
		}
	}
	return st
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// tipSample is one /btc-tip answer and the CometBFT height of the
// committed state it came from.
type tipSample struct {
	comet int64
	btc   int32
}

// sampleTips reads c's /btc-tip every 20ms until ctx ends.
func sampleTips(ctx context.Context, c *rpchttp.HTTP) []tipSample {
	var out []tipSample
	for ctx.Err() == nil {
		var tp tip
		if h, err := queryAt(ctx, c, "/btc-tip", &tp); err == nil {
			out = append(out, tipSample{h, tp.Height})
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	return out
}

// appliedAt is the CometBFT height of the first sampled state whose
// Bitcoin tip is at height or above: the block was applied there or
// before. It is exact when the sample just before it is of the previous
// CometBFT height.
func appliedAt(samples []tipSample, height int32) (at int64, exact, ok bool) {
	var prev int64 = -1
	for _, s := range samples {
		if s.btc >= height {
			return s.comet, prev == s.comet-1, true
		}
		prev = s.comet
	}
	return 0, false, false
}

// queryAt runs an ABCI query on c, decodes its JSON into v, and returns the
// CometBFT height of the committed state that answered.
func queryAt(ctx context.Context, c *rpchttp.HTTP, path string, v any) (int64, error) {
	res, err := c.ABCIQuery(ctx, path, nil)
	if err != nil {
		return 0, err
	}
	if res.Response.Code != 0 {
		return 0, fmt.Errorf("query %s: code %d: %s", path, res.Response.Code, res.Response.Log)
	}
	return res.Response.Height, json.Unmarshal(res.Response.Value, v)
}

// votingPower is the validators' power by endorser key, and the total.
type votingPower struct {
	byEndorser map[tx.Address]tx.Address // endorser key → operator
	power      map[tx.Address]int64      // operator → power
	total      int64
}

func (ln *liveNet) powers(ctx context.Context) votingPower {
	ln.t.Helper()
	raw, err := ln.clients[0].Query(ctx, "/validators")
	if err != nil {
		ln.t.Fatal(err)
	}
	var vals []struct {
		Operator string `json:"operator"`
		Endorser string `json:"endorser"`
		Power    int64  `json:"power"`
	}
	if err := json.Unmarshal(raw, &vals); err != nil {
		ln.t.Fatal(err)
	}
	vp := votingPower{byEndorser: map[tx.Address]tx.Address{}, power: map[tx.Address]int64{}}
	for _, v := range vals {
		op, err1 := tx.ParseAddress(v.Operator)
		en, err2 := tx.ParseAddress(v.Endorser)
		if err := errors.Join(err1, err2); err != nil {
			ln.t.Fatal(err)
		}
		vp.byEndorser[en], vp.power[op] = op, v.Power
		vp.total += v.Power
	}
	return vp
}

// blockScan is what the CometBFT blocks of a height range hold: per
// Bitcoin block, the heights that took its headers, its first
// endorsement and the endorsement that completed its quorum; and the
// spammer's transactions, fees and transfers.
type blockScan struct {
	submitted, firstEndorsed, quorum map[chainhash.Hash]int64
	txs, failed                      int
	maxPerBlock                      int // the most spam transactions in one block
	// rolePaid is what each signer of SubmitHeaders and Endorse paid in
	// fees: role keys need funded accounts.
	rolePaid    map[tx.Address]uint64
	fees, moved uint64
	feeMismatch string // a fee event that is not the schedule's
}

// scanBlocks reads CometBFT blocks from..to and their results from c.
func scanBlocks(ctx context.Context, t *testing.T, c *rpchttp.HTTP, from, to int64, spammer tx.Address, params app.Params,
	vp votingPower) *blockScan {
	t.Helper()
	sc := &blockScan{submitted: map[chainhash.Hash]int64{}, firstEndorsed: map[chainhash.Hash]int64{},
		quorum: map[chainhash.Hash]int64{}, rolePaid: map[tx.Address]uint64{}}
	endorsers := map[chainhash.Hash][]tx.Address{}
	for h := from; h <= to; h++ {
		b, err := c.Block(ctx, &h)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		res, err := c.BlockResults(ctx, &h)
		if err != nil {
			t.Fatalf("block_results %d: %v", h, err)
		}
		if len(res.TxsResults) != len(b.Block.Txs) {
			t.Fatalf("block %d: %d txs, %d results", h, len(b.Block.Txs), len(res.TxsResults))
		}
		perBlock := 0
		for i, raw := range b.Block.Txs {
			env, err := tx.Unmarshal(raw)
			if err != nil {
				t.Fatalf("block %d tx %d: %v", h, i, err)
			}
			msg, err := env.Msg()
			if err != nil {
				t.Fatalf("block %d tx %d: %v", h, i, err)
			}
			r := res.TxsResults[i]
			if env.Signer == spammer {
				sc.txs++
				perBlock++
				sc.maxPerBlock = max(sc.maxPerBlock, perBlock)
				fee := feeOf(r.Events)
				for _, e := range r.Events {
					for _, a := range e.Attributes {
						if e.Type == "fee" && a.Key == "payer" && a.Value != spammer.String() {
							sc.feeMismatch = fmt.Sprintf("block %d tx %d: fee paid by %s, signed by %s", h, i, a.Value, spammer)
						}
					}
				}
				if want := params.Fee(len(raw)); fee != want && sc.feeMismatch == "" {
					sc.feeMismatch = fmt.Sprintf("block %d tx %d: fee %d for %d bytes, the schedule says %d", h, i, fee, len(raw), want)
				}
				sc.fees += fee
				if r.Code != 0 {
					sc.failed++
				} else if m, ok := msg.(tx.Transfer); ok {
					sc.moved += m.Amount
				}
			}
			if r.Code != 0 {
				continue
			}
			switch msg.(type) {
			case tx.SubmitHeaders, tx.Endorse:
				sc.rolePaid[env.Signer] += feeOf(r.Events)
			}
			switch m := msg.(type) {
			case tx.SubmitHeaders:
				for _, hdr := range m.Headers {
					hash := chainhash.DoubleHashH(hdr[:])
					if _, ok := sc.submitted[hash]; !ok {
						sc.submitted[hash] = h
					}
				}
			case tx.Endorse:
				op, ok := vp.byEndorser[env.Signer]
				if !ok {
					continue
				}
				for _, it := range m.Items {
					if _, ok := sc.firstEndorsed[it.Hash]; !ok {
						sc.firstEndorsed[it.Hash] = h
					}
					if slices.Contains(endorsers[it.Hash], op) {
						continue
					}
					endorsers[it.Hash] = append(endorsers[it.Hash], op)
					var power int64
					for _, e := range endorsers[it.Hash] {
						power += vp.power[e]
					}
					if _, done := sc.quorum[it.Hash]; !done && staking.Endorsed(power, vp.total) {
						sc.quorum[it.Hash] = h
					}
				}
			}
		}
	}
	return sc
}

// feeOf is the amount of a transaction's "fee" event (0 without one).
func feeOf(events []abci.Event) uint64 {
	for _, e := range events {
		for _, a := range e.Attributes {
			if e.Type == "fee" && a.Key == "amount" {
				n, _ := strconv.ParseUint(a.Value, 10, 64)
				return n
			}
		}
	}
	return 0
}

// spamDuring starts, when SATNODE_SPAM is set (make bench-live runs
// TestLive both ways), a spammer on node 3: a fresh account funded by
// node 3's operator that sends transfers as fast as CheckTx takes them. The
// returned function stops it and says how many it got admitted; without
// SATNODE_SPAM it does nothing.
func (ln *liveNet) spamDuring(ctx context.Context) func() string {
	if os.Getenv("SATNODE_SPAM") == "" {
		return func() string { return "" }
	}
	t := ln.t
	t.Helper()
	c := ln.clients[3]
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	op, err := keyring.Open(filepath.Join(ln.homes[3], node.KeysDir)).Get(node.KeyOperator)
	if err != nil {
		t.Fatal(err)
	}
	spammer, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	from := tx.AddressOf(spammer.PubKey())
	if _, err := c.Send(ctx, op.Private, tx.Transfer{To: from, Amount: 1_000_000_000_000}, 0); err != nil {
		t.Fatalf("funding the spammer: %v", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan spamStats, 1)
	go func() { done <- spam(sctx, c, chainID, spammer, tx.AddressOf(op.Private.PubKey()), 1) }()
	return func() string {
		cancel()
		st := <-done
		return fmt.Sprintf(" (spammer running: %d transfers admitted, refused %v)", st.admitted, st.refused)
	}
}
