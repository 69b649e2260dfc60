package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/rpc/verify"
	"github.com/satnode/satnode/utxo"
)

// The proofs of TestLive: outpoints of every kind (unspent, spent,
// orphaned by the reorg, never created) proven by nodes chosen at random,
// once at a height before the reorg and once after it, and all the files
// verified by one `satnode verify` process from the header at height 1,
// after the reorg: a proof of a state the chain has since left still
// verifies against its own header. Each answer is compared with btcd's
// gettxout at the moment it was fetched, and with the test's own model of
// the chain; a proof that claims anything else fails the test.

// proofFetchers bounds the concurrent requests: the nodes share two cores
// with the test.
const proofFetchers = 8

// proofCategory is a kind of outpoint, and whether the chain the test
// built holds it in the UTXO set at the round's tip.
type proofCategory struct {
	name    string
	unspent bool
	ops     []wire.OutPoint
}

// proofCase is one outpoint of a round: the node asked, its answer,
// btcd's, and the file the answer went to.
type proofCase struct {
	cat     string
	op      wire.OutPoint
	unspent bool // the test's model
	node    int
	file    string // base name in the round's directory
	btcd    *btcnode.TxOut
	proof   *verify.UTXOProof
	err     error
}

// proofRound is a set of proofs all at one CometBFT height, whose state is
// that of the Bitcoin tip.
type proofRound struct {
	name      string
	tip       chainhash.Hash
	tipHeight int32
	height    int64
	cases     []*proofCase
	counts    map[string]int
	order     []string // category names, in order
}

// chainModel is the UTXO set after a chain, computed by the test from the
// blocks it made: the spendable outputs not spent, in order of creation,
// and the outpoints spent, in order of spending, with their spenders.
type chainModel struct {
	unspent map[wire.OutPoint]bool
	spender map[wire.OutPoint]chainhash.Hash
}

func modelOf(chain []*wire.MsgBlock) *chainModel {
	m := &chainModel{unspent: map[wire.OutPoint]bool{}, spender: map[wire.OutPoint]chainhash.Hash{}}
	for _, b := range chain {
		for i, x := range b.Transactions {
			h := x.TxHash()
			if i > 0 {
				for _, in := range x.TxIn {
					delete(m.unspent, in.PreviousOutPoint)
					m.spender[in.PreviousOutPoint] = h
				}
			}
			for v, out := range x.TxOut {
				if !utxo.IsUnspendable(out.PkScript) {
					m.unspent[wire.OutPoint{Hash: h, Index: uint32(v)}] = true
				}
			}
		}
	}
	return m
}

// outputs are every output of blocks, spendable or not.
func outputs(blocks []*wire.MsgBlock) []wire.OutPoint {
	var ops []wire.OutPoint
	for _, b := range blocks {
		for _, x := range b.Transactions {
			h := x.TxHash()
			for v := range x.TxOut {
				ops = append(ops, wire.OutPoint{Hash: h, Index: uint32(v)})
			}
		}
	}
	return ops
}

// spends are the outpoints the transactions of blocks spend.
func spends(blocks []*wire.MsgBlock) []wire.OutPoint {
	var ops []wire.OutPoint
	for _, b := range blocks {
		for _, x := range b.Transactions[1:] {
			for _, in := range x.TxIn {
				ops = append(ops, in.PreviousOutPoint)
			}
		}
	}
	return ops
}

func sample(rng *rand.Rand, ops []wire.OutPoint, n int) []wire.OutPoint {
	var out []wire.OutPoint
	for _, i := range rng.Perm(len(ops))[:min(n, len(ops))] {
		out = append(out, ops[i])
	}
	return out
}

// olderCategories are those both rounds have, drawn afresh from older,
// the blocks below the fork point: outputs spent there, outputs unspent at
// m's tip, and outpoints never created (random txids, and real txids with
// a vout past their outputs).
func olderCategories(rng *rand.Rand, older []*wire.MsgBlock, m *chainModel) []proofCategory {
	var unspent []wire.OutPoint
	for _, op := range outputs(older) {
		if m.unspent[op] {
			unspent = append(unspent, op)
		}
	}
	var never []wire.OutPoint
	for range 40 {
		var h chainhash.Hash
		for i := range h {
			h[i] = byte(rng.Uint32())
		}
		never = append(never, wire.OutPoint{Hash: h, Index: uint32(rng.IntN(4))})
	}
	for range 30 {
		b := older[rng.IntN(len(older))]
		x := b.Transactions[rng.IntN(len(b.Transactions))]
		never = append(never, wire.OutPoint{Hash: x.TxHash(), Index: uint32(len(x.TxOut) + rng.IntN(3))})
	}
	never = append(never, wire.OutPoint{Hash: older[len(older)-1].Transactions[0].TxHash(), Index: 1<<32 - 1})
	return []proofCategory{
		{"spent", false, sample(rng, spends(older), 150)},
		{"unspent", true, sample(rng, unspent, 200)},
		{"never-created", false, never},
	}
}

// beforeCategories: right before the reorg, chain still ending with the
// orphaned blocks, whose unspent outputs are in the set and the outputs
// they spend are not.
func beforeCategories(rng *rand.Rand, chain, orphaned []*wire.MsgBlock) []proofCategory {
	m := modelOf(chain)
	var orph []wire.OutPoint
	for _, op := range outputs(orphaned) {
		if m.unspent[op] {
			orph = append(orph, op)
		}
	}
	return append([]proofCategory{
		{"orphaned", true, orph},
		{"spent-by-orphaned", false, spends(orphaned)},
	}, olderCategories(rng, chain[:len(chain)-len(orphaned)], m)...)
}

// afterCategories: once the fork is the chain, the coins the orphaned
// blocks made (those before proved unspent) are gone, the fork's are in
// the set, the outpoints both branches spend are spent, and those only the
// orphaned branch spent are back.
func afterCategories(rng *rand.Rand, chain, fork, orphaned []*wire.MsgBlock, before *proofRound) []proofCategory {
	m := modelOf(chain)
	orphSpender := modelOf(orphaned).spender
	var orph, forkOuts, double, revived []wire.OutPoint
	for _, c := range before.cases {
		switch {
		case c.cat == "orphaned" && !m.unspent[c.op]: // unless the fork made it again
			orph = append(orph, c.op)
		case c.cat != "spent-by-orphaned":
		case m.unspent[c.op]:
			revived = append(revived, c.op)
		case m.spender[c.op] != (chainhash.Hash{}) && m.spender[c.op] != orphSpender[c.op]:
			double = append(double, c.op)
		}
	}
	for _, op := range outputs(fork) {
		if m.unspent[op] {
			forkOuts = append(forkOuts, op)
		}
	}
	cats := []proofCategory{
		{"orphaned", false, orph},
		{"fork", true, forkOuts},
		{"double-spent", false, double},
		{"revived", true, revived},
	}
	return append(cats, olderCategories(rng, chain[:len(chain)-len(fork)], m)...)
}

// proveRound fetches a proof of every outpoint of cats from the API of a
// node drawn from rng, all at the CometBFT height of the first answer,
// and btcd's gettxout of the same node's btcd; the chain's tip is tip at
// tipHeight in every node and btcd. It fails the test unless every answer
// says what btcd and the test's model say.
func (ln *liveNet) proveRound(ctx context.Context, rng *rand.Rand, dir, name string, tip chainhash.Hash, tipHeight int32,
	cats []proofCategory) *proofRound {
	t := ln.t
	t.Helper()
	start := time.Now()
	r := &proofRound{name: name, tip: tip, tipHeight: tipHeight, counts: map[string]int{}}
	nodes := len(ln.btcds)
	for _, c := range cats {
		if len(c.ops) == 0 {
			t.Fatalf("proofs %s the reorg: no outpoint of category %s", name, c.name)
		}
		r.order = append(r.order, c.name)
		for _, op := range c.ops {
			r.cases = append(r.cases, &proofCase{cat: c.name, op: op, unspent: c.unspent, node: rng.IntN(nodes),
				file: fmt.Sprintf("%s-%s-%04d.json", name, c.name, r.counts[c.name])})
			r.counts[c.name]++
		}
	}
	apis := make([]string, nodes)
	for i := range apis {
		ac, err := node.LoadAppConfig(ln.homes[i])
		if err != nil {
			t.Fatal(err)
		}
		apis[i] = "http://" + ac.RPC.Listen
	}
	// The first answer, at the node's latest commit, pins the height.
	ln.fetchProof(ctx, dir, apis, r.cases[0], 0)
	if r.cases[0].err != nil {
		t.Fatalf("proofs %s the reorg: %v: %v", name, r.cases[0].op, r.cases[0].err)
	}
	r.height = r.cases[0].proof.Height
	jobs := make(chan *proofCase)
	var wg sync.WaitGroup
	for range proofFetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				ln.fetchProof(ctx, dir, apis, c, r.height)
			}
		}()
	}
	for _, c := range r.cases[1:] {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	for _, c := range r.cases {
		if err := r.check(c); err != nil {
			t.Fatalf("proofs %s the reorg: %s %v from node%d: %v", name, c.cat, c.op, c.node, err)
		}
	}
	var parts []string
	for _, c := range r.order {
		parts = append(parts, fmt.Sprintf("%s %d", c, r.counts[c]))
	}
	t.Logf("PROOFS %s the reorg: %d outpoints from random nodes, all at CometBFT height %d (Bitcoin %d %s), agreeing with btcd, in %v: %s",
		name, len(r.cases), r.height, tipHeight, tip, time.Since(start).Round(time.Millisecond), strings.Join(parts, ", "))
	return r
}

// fetchProof asks node c.node for c.op's proof (at height, unless 0),
// writes it to dir, and asks that node's btcd for gettxout. A node a
// commit behind answers 404 for a height it has not reached: it is asked
// again.
func (ln *liveNet) fetchProof(ctx context.Context, dir string, apis []string, c *proofCase, height int64) {
	path := "/v1/proof/utxo/" + c.op.Hash.String() + "/" + strconv.FormatUint(uint64(c.op.Index), 10)
	if height > 0 {
		path += "?height=" + strconv.FormatInt(height, 10)
	}
	var body []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		body, c.err = apiGet(ctx, apis[c.node], path)
		if c.err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c.err != nil {
		return
	}
	if c.proof, c.err = verify.DecodeUTXOProof(bytes.NewReader(body)); c.err != nil {
		return
	}
	if c.err = os.WriteFile(filepath.Join(dir, c.file), body, 0o644); c.err != nil {
		return
	}
	c.btcd, c.err = ln.btcds[c.node].Client.GetTxOut(ctx, c.op.Hash, c.op.Index, false)
}

// check compares a case's answer with btcd's and with the model.
func (r *proofRound) check(c *proofCase) error {
	if c.err != nil {
		return c.err
	}
	p := c.proof
	if p.Outpoint.String() != c.op.String() || p.Height != r.height ||
		p.Bitcoin.Height != r.tipHeight || p.Bitcoin.Hash.String() != r.tip.String() {
		return fmt.Errorf("a proof of %v at height %d, Bitcoin %d %s", p.Outpoint, p.Height, p.Bitcoin.Height, p.Bitcoin.Hash)
	}
	if (c.btcd != nil) != c.unspent {
		return fmt.Errorf("btcd's gettxout says %+v, the test's chain says unspent=%v", c.btcd, c.unspent)
	}
	if c.btcd != nil && c.btcd.BestBlock != r.tip {
		return fmt.Errorf("btcd answered at %s", c.btcd.BestBlock)
	}
	if p.Unspent != c.unspent || (p.Coin != nil) != c.unspent {
		return fmt.Errorf("the proof claims unspent=%v (coin %+v), btcd says %+v", p.Unspent, p.Coin, c.btcd)
	}
	if c.unspent {
		if err := sameCoin(c.btcd, r.tipHeight, p.Coin.Value, hex.EncodeToString(p.Coin.ScriptPubKey), p.Coin.Height, p.Coin.Coinbase); err != nil {
			return fmt.Errorf("the proof's coin: %w", err)
		}
	}
	return nil
}

// sameCoin compares a coin with btcd's gettxout answer at tipHeight.
func sameCoin(o *btcnode.TxOut, tipHeight int32, value int64, script string, height int32, coinbase bool) error {
	wantHeight := int64(tipHeight) - o.Confirmations + 1
	if value != o.Sats() || script != o.ScriptPubKeyHex || int64(height) != wantHeight || coinbase != o.Coinbase {
		return fmt.Errorf("%d sat, script %s, height %d, coinbase %v; btcd: %d sat, script %s, height %d, coinbase %v",
			value, script, height, coinbase, o.Sats(), o.ScriptPubKeyHex, wantHeight, o.Coinbase)
	}
	return nil
}

// The lines `satnode verify` prints for each of several files, after the
// file's name and ": " (cmd/satnode/prove.go, printVerified).
var (
	verifiedUnspent = regexp.MustCompile(`^verified: ([0-9a-f]{64}:\d+) is UNSPENT at Bitcoin height (\d+) \(([0-9a-f]{64})\): ` +
		`(\d+) sat, script ([0-9a-f]*), created at (\d+), coinbase (true|false)$`)
	verifiedAbsent = regexp.MustCompile(`^verified: ([0-9a-f]{64}:\d+) is NOT in the UTXO set at Bitcoin height (\d+) \(([0-9a-f]{64})\)$`)
	verifiedHeader = regexp.MustCompile(`^  app hash [0-9A-F]{64} in CometBFT header (\d+) of (\S+)$`)
)

// verdict is what `satnode verify` printed for one file.
type verdict struct {
	op, btcHash, script string
	unspent, coinbase   bool
	btcHeight, created  int32
	value, header       int64
	chainID, failed     string
	lines               int
}

// verifyProofs verifies every file of rounds, and a copy of one with a
// byte of its proof flipped, with one `satnode verify` process, trusting
// the header at height 1 and asking a random node's CometBFT RPC for the
// rest. Every honest file must verify to what btcd said when it was
// fetched, at its own height, the tampered one must fail, and the process
// exit non-zero for it.
func (ln *liveNet) verifyProofs(ctx context.Context, rng *rand.Rand, dir string, rounds ...*proofRound) {
	t := ln.t
	t.Helper()
	start := time.Now()
	vnode := rng.IntN(len(ln.btcds))
	rpc := mustRPC(t, ln.homes[vnode])
	c := rpcClient(t, rpc)
	one := int64(1)
	blk, err := c.Block(ctx, &one)
	if err != nil {
		t.Fatal(err)
	}
	top := int64(0)
	for _, r := range rounds {
		top = max(top, r.height+1)
	}
	ln.waitFor(30*time.Second, "the header carrying the last proofs' app hash", func() bool { return height(c) >= top })

	// The tampered file: an unspent coin's proof, its last byte (in a
	// sibling hash) flipped.
	i := slices.IndexFunc(rounds[0].cases, func(c *proofCase) bool { return c.unspent })
	honest := rounds[0].cases[i]
	p := *honest.proof
	p.Proof = slices.Clone(p.Proof)
	p.Proof[len(p.Proof)-1] ^= 1
	const tampered = "tampered.json"
	raw, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tampered), raw, 0o644); err != nil {
		t.Fatal(err)
	}

	args := []string{"verify"}
	for _, r := range rounds {
		for _, c := range r.cases {
			args = append(args, c.file)
		}
	}
	files := len(args) - 1
	args = append(args, tampered, "--trust-height", "1", "--trust-hash", hex.EncodeToString(blk.BlockID.Hash), "--node", rpc)
	stdout, stderr, err := runSatnode(ctx, dir, args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("satnode verify with a tampered file: %v, want a non-zero exit\n%s", err, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("1 of %d files failed: %s", files+1, tampered)) {
		t.Fatalf("satnode verify's error does not name the one tampered file: %s", stderr)
	}
	got := parseVerdicts(t, stdout)
	if v := got[tampered]; v == nil || v.failed == "" || v.lines != 1 {
		t.Fatalf("the tampered file: %+v", v)
	}
	var unspent, absent int
	for _, r := range rounds {
		for _, c := range r.cases {
			v := got[c.file]
			if v == nil || v.failed != "" || v.lines != 2 {
				t.Fatalf("satnode verify, %s (%s %v): %+v", c.file, c.cat, c.op, v)
			}
			if err := r.checkVerdict(c, v); err != nil {
				t.Fatalf("satnode verify, %s (%s %v from node%d): %v", c.file, c.cat, c.op, c.node, err)
			}
			if v.unspent {
				unspent++
			} else {
				absent++
			}
		}
	}
	// One coin across the reorg, as it verified.
	var across string
	if len(rounds) == 2 {
		for _, c := range rounds[0].cases {
			if c.cat != "orphaned" {
				continue
			}
			j := slices.IndexFunc(rounds[1].cases, func(d *proofCase) bool { return d.cat == "orphaned" && d.op == c.op })
			if j < 0 {
				continue
			}
			a, b := got[c.file], got[rounds[1].cases[j].file]
			across = fmt.Sprintf("; e.g. orphaned %v: UNSPENT (%d sat) at Bitcoin %d in header %d, NOT in the set at Bitcoin %d in header %d",
				c.op, a.value, a.btcHeight, a.header, b.btcHeight, b.header)
			break
		}
	}
	t.Logf("PROOFS verified: one `satnode verify` of %d files through node%d's CometBFT RPC from trusted height 1, after the reorg: "+
		"%d UNSPENT, %d NOT in the set, each as btcd said; a copy with a flipped proof byte refused (%s), exit code %d, in %v%s",
		files, vnode, unspent, absent, got[tampered].failed, ee.ExitCode(), time.Since(start).Round(time.Millisecond), across)
}

// checkVerdict compares what verify printed for c with btcd's answer.
func (r *proofRound) checkVerdict(c *proofCase, v *verdict) error {
	if v.op != c.op.String() || v.unspent != (c.btcd != nil) || v.header != r.height+1 ||
		v.btcHeight != r.tipHeight || v.btcHash != r.tip.String() {
		return fmt.Errorf("verified %s unspent=%v at Bitcoin %d %s in header %d; btcd: %+v at %d %s, header %d",
			v.op, v.unspent, v.btcHeight, v.btcHash, v.header, c.btcd, r.tipHeight, r.tip, r.height+1)
	}
	if v.unspent {
		return sameCoin(c.btcd, r.tipHeight, v.value, v.script, v.created, v.coinbase)
	}
	return nil
}

// parseVerdicts reads verify's output for several files: every line is
// "FILE: ...".
func parseVerdicts(t *testing.T, out string) map[string]*verdict {
	t.Helper()
	got := map[string]*verdict{}
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		name, rest, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("satnode verify printed %q", line)
		}
		v := got[name]
		if v == nil {
			v = &verdict{}
			got[name] = v
		}
		v.lines++
		if m := verifiedUnspent.FindStringSubmatch(rest); m != nil {
			v.op, v.unspent, v.btcHash, v.script, v.coinbase = m[1], true, m[3], m[5], m[7] == "true"
			v.btcHeight, v.value, v.created = atoi32(m[2]), atoi64(m[4]), atoi32(m[6])
		} else if m := verifiedAbsent.FindStringSubmatch(rest); m != nil {
			v.op, v.btcHeight, v.btcHash = m[1], atoi32(m[2]), m[3]
		} else if m := verifiedHeader.FindStringSubmatch(rest); m != nil {
			v.header, v.chainID = atoi64(m[1]), m[2]
		} else if f, ok := strings.CutPrefix(rest, "FAILED: "); ok {
			v.failed = f
		} else {
			t.Fatalf("satnode verify printed %q", line)
		}
	}
	return got
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func atoi32(s string) int32 { return int32(atoi64(s)) }

// runSatnode runs satnode in its own process (this test binary, through
// TestHelperProcess) in dir, and returns what it wrote to stdout and to
// stderr, and how it exited.
func runSatnode(ctx context.Context, dir string, args ...string) (stdout, stderr string, err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestHelperProcess$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args, "\x1f"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
