package main

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/client"
)

// TestShutdownWaitingForBody is the shutdown scenario of the Byzantine
// suite, with real processes on 127.0.0.1. Node A is the only validator,
// with its own btcd, synchronizer and endorser; node B is a full node
// peered with A over CometBFT and with no source of Bitcoin bodies: no
// [bitcoin] node, no blk files, and libp2p without peers (A does not know
// B's libp2p address either). When A makes a Bitcoin block canonical,
// B's FinalizeBlock waits for the body. Then:
//
//   - B still answers queries from its committed state while it waits;
//   - SIGTERM makes B exit within shutdownLimit (its FinalizeBlock gives
//     up when the node stops; CometBFT may log CONSENSUS FAILURE on that
//     path, which is expected);
//   - B restarted with A as its libp2p peer replays the block, reaches
//     A's height, and its application's committed app hash is the one A's
//     chain carries for that height, with the same UTXO MuHash.
func TestShutdownWaitingForBody(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 1 btcd and 2 satnode processes")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const shutdownLimit = 5 * time.Second
	ln := newLiveNetWith(t, liveNetOptions{Validators: 1, Synchronizers: 1})
	const a, b = 0, 1
	ln.start(a)

	// B: joinHome's full node, with libp2p peers removed.
	bHome := joinHome(t, ln.homes[a], ln.homes[:1])
	setLibp2pPeers(t, bHome, nil)
	bc, err := client.New(mustRPC(t, bHome))
	if err != nil {
		t.Fatal(err)
	}
	ln.homes = append(ln.homes, bHome)
	ln.clients = append(ln.clients, bc)
	ln.procs = append(ln.procs, nil)
	ln.start(b)
	aRPC, bRPC := rpcClient(t, mustRPC(t, ln.homes[a])), rpcClient(t, mustRPC(t, bHome))
	// In consensus, not block sync, when the body goes missing: the path
	// of a running node. (A, the only validator, commits without waiting
	// for B, which may stay a few seconds behind: CometBFT's consensus
	// gossip catches a follower up at about the rate blocks are made.)
	ln.waitFor(60*time.Second, "B in consensus", func() bool {
		st, err := bRPC.Status(ctx)
		return err == nil && !st.SyncInfo.CatchingUp && st.SyncInfo.LatestBlockHeight > 0
	})

	g := newChainGen(t)
	if _, err := g.Next(); err != nil { // the genesis block, which btcd has
		t.Fatal(err)
	}
	blk, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	ln.submit(ctx, 0, blk)
	want := blk.BlockHash().String()
	ln.waitAll([]int{a}, time.Minute, "A applying Bitcoin block 1", func(tp tip) bool { return tp.Hash == want })
	ln.waitFor(90*time.Second, "B waiting for the body", func() bool { return ln.logHas(b, "waiting for the block body") })
	// The block B waits on is in its block store, not yet in its state;
	// its queries answer from the state committed before.
	stuck := height(bRPC)
	if info, err := bRPC.ABCIInfo(ctx); err != nil || info.Response.LastBlockHeight >= stuck {
		t.Fatalf("B's application, waiting for the body of block %d: %+v, %v", stuck, info, err)
	}
	if tp, err := ln.tip(ctx, b); err != nil || tp.Height != 0 {
		t.Fatalf("B, waiting for the body, answers /btc-tip with %+v, %v; want its committed height 0", tp, err)
	}
	t.Logf("%v: B waits for the body of %s at CometBFT height %d", time.Since(start).Round(time.Millisecond), want, stuck)

	p := ln.procs[b]
	t0 := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(shutdownLimit):
		t.Errorf("B did not exit within %v of SIGTERM while waiting for a body", shutdownLimit)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	exit := time.Since(t0)
	log, _ := os.ReadFile(p.log)
	t.Logf("SHUTDOWN: B exited %v after SIGTERM (exit: %v; CONSENSUS FAILURE logged: %v; \"node stopped\" logged: %v)",
		exit.Round(time.Millisecond), p.err, bytes.Contains(log, []byte("CONSENSUS FAILURE")), bytes.Contains(log, []byte("node stopped")))
	writeMeasure(t, "shutdown", map[string]any{"exit_ms": exit.Milliseconds()})
	if t.Failed() {
		t.FailNow()
	}

	// Restarted with a body source: A over libp2p.
	setLibp2pPeers(t, bHome, []string{p2pAddr(t, ln.homes[a])})
	ln.start(b)
	goal := height(aRPC)
	ln.waitFor(90*time.Second, "B past A's height", func() bool {
		info, err := bRPC.ABCIInfo(ctx)
		return err == nil && info.Response.LastBlockHeight >= goal
	})
	info, err := bRPC.ABCIInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := info.Response.LastBlockHeight
	next := h + 1
	ln.waitFor(30*time.Second, "A's next block", func() bool { return height(aRPC) >= next })
	ab, err := aRPC.Block(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab.Block.AppHash, info.Response.LastBlockAppHash) {
		t.Fatalf("B's application has app hash %X at height %d; A's block %d carries %X", info.Response.LastBlockAppHash, h, next,
			ab.Block.AppHash)
	}
	ta, err1 := ln.tip(ctx, a)
	tb, err2 := ln.tip(ctx, b)
	if err1 != nil || err2 != nil || tb.Hash != want || ta.MuHash != tb.MuHash {
		t.Fatalf("after the restart: A's tip %+v (%v), B's %+v (%v); want both at %s with one MuHash", ta, err1, tb, err2, want)
	}
	t.Logf("%v: B restarted, replayed height %d with the body from A, and at height %d has A's app hash %X",
		time.Since(start).Round(time.Millisecond), stuck, h, info.Response.LastBlockAppHash)
}

// setLibp2pPeers rewrites the libp2p bootstrap peers of home's app.toml.
func setLibp2pPeers(t *testing.T, home string, peers []string) {
	t.Helper()
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ac.P2P.Bootstrap = peers
	if err := node.WriteAppConfig(home, ac); err != nil {
		t.Fatal(err)
	}
}
