package btcheaders

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo/utxotest"
)

var testPrefix = []byte{'H'}

// mainnetHeaders returns the headers of mainnet blocks 0..14131 from the
// repository's blk fixture.
func mainnetHeaders(t testing.TB) []wire.BlockHeader {
	t.Helper()
	mainnetOnce.Do(func() {
		blocks, err := utxotest.MainnetChain()
		if err != nil {
			mainnetErr = err
			return
		}
		for _, b := range blocks {
			var h wire.BlockHeader
			if err := h.Deserialize(bytes.NewReader(b[:80])); err != nil {
				mainnetErr = err
				return
			}
			mainnetHdrs = append(mainnetHdrs, h)
		}
	})
	if mainnetErr != nil {
		t.Fatal(mainnetErr)
	}
	if len(mainnetHdrs) != 14132 {
		t.Fatalf("fixture has %d headers, want 14132", len(mainnetHdrs))
	}
	return mainnetHdrs
}

var (
	mainnetOnce sync.Once
	mainnetHdrs []wire.BlockHeader
	mainnetErr  error
)

// reorgHeaders returns btcd's real-PoW mainnet side branch, by name
// (testdata/reorgtest-headers.txt).
func reorgHeaders(t testing.TB) map[string]wire.BlockHeader {
	t.Helper()
	f, err := os.Open("testdata/reorgtest-headers.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := make(map[string]wire.BlockHeader)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		raw, err := hex.DecodeString(fields[2])
		if err != nil || len(raw) != 80 {
			t.Fatalf("bad line %q", line)
		}
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		out[fields[0]] = h
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hourAfter is the clock the fixture tests use: each header's own time plus
// an hour.
func hourAfter(h *wire.BlockHeader) time.Time { return h.Timestamp.Add(time.Hour) }

func mustNew(t testing.TB, p *chaincfg.Params, sp StartPoint) *Tree {
	t.Helper()
	tr, err := New(p, sp, testPrefix)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

func mustAdd(t testing.TB, tr *Tree, h *wire.BlockHeader) *Node {
	t.Helper()
	n, err := tr.Add(h, hourAfter(h))
	if err != nil {
		t.Fatalf("Add %s: %v", h.BlockHash(), err)
	}
	return n
}

func wantCode(t testing.TB, err error, c ErrorCode) {
	t.Helper()
	if !IsRuleError(err, c) {
		t.Fatalf("got error %v, want %v", err, c)
	}
}

// mine increments the nonce until the header meets its own bits.
func mine(h *wire.BlockHeader) {
	target := blockchain.CompactToBig(h.Bits)
	for {
		hash := h.BlockHash()
		if blockchain.HashToBig(&hash).Cmp(target) <= 0 {
			return
		}
		h.Nonce++
	}
}

// fastParams returns copies of networks whose proof-of-work limit makes
// mining a header take a few hashes.
func simnetNoReduce() *chaincfg.Params {
	p := chaincfg.SimNetParams
	p.Name = "simnet-noreduce"
	p.ReduceMinDifficulty = false
	return &p
}

// refBits is an independent statement of the difficulty rules over a plain
// slice (chain[i] at height i), used to build test chains: the tree gets its
// answer from btcd through HeaderCtx, so agreement checks the plumbing.
func refBits(p *chaincfg.Params, chain []wire.BlockHeader, newTime time.Time) uint32 {
	if p.PoWNoRetargeting {
		return p.PowLimitBits
	}
	bpr := int(p.TargetTimespan / p.TargetTimePerBlock)
	last := len(chain) - 1
	if (last+1)%bpr != 0 {
		if p.ReduceMinDifficulty {
			if newTime.Unix() > chain[last].Timestamp.Unix()+int64(p.MinDiffReductionTime/time.Second) {
				return p.PowLimitBits
			}
			i := last
			for i%bpr != 0 && chain[i].Bits == p.PowLimitBits {
				i--
			}
			return chain[i].Bits
		}
		return chain[last].Bits
	}
	span := int64(p.TargetTimespan / time.Second)
	actual := chain[last].Timestamp.Unix() - chain[last+1-bpr].Timestamp.Unix()
	actual = min(max(actual, span/p.RetargetAdjustmentFactor), span*p.RetargetAdjustmentFactor)
	target := blockchain.CompactToBig(chain[last].Bits)
	target.Mul(target, big.NewInt(actual))
	target.Div(target, big.NewInt(span))
	if target.Cmp(p.PowLimit) > 0 {
		target.Set(p.PowLimit)
	}
	return blockchain.BigToCompact(target)
}

// genChain builds a chain of n headers above genesis for p. gap(height)
// gives the seconds since the previous header. Bits come from refBits.
func genChain(p *chaincfg.Params, n int, gap func(height int) int64) []wire.BlockHeader {
	chain := []wire.BlockHeader{p.GenesisBlock.Header}
	for height := 1; height <= n; height++ {
		prev := &chain[height-1]
		h := wire.BlockHeader{
			Version:    0x20000000,
			PrevBlock:  prev.BlockHash(),
			MerkleRoot: chainhash.Hash{byte(height), byte(height >> 8), 0x5a},
			Timestamp:  prev.Timestamp.Add(time.Duration(gap(height)) * time.Second),
		}
		h.Bits = refBits(p, chain, h.Timestamp)
		mine(&h)
		chain = append(chain, h)
	}
	return chain
}

// retargetGaps spaces headers so that simnet's difficulty goes up at 2016
// and 4032 and back down at 6048, with min-difficulty headers (gaps over 20
// minutes) scattered in, the last of the third window among them.
func retargetGaps(height int) int64 {
	switch {
	case height == 6047:
		return 25 * 60
	case height < 4032:
		if height%97 == 0 {
			return 25 * 60
		}
		return 60
	default:
		if height%89 == 0 {
			return 21 * 60
		}
		return 600
	}
}

var (
	simnetOnce  sync.Once
	simnetChain []wire.BlockHeader
	noRedOnce   sync.Once
	noRedChain  []wire.BlockHeader
)

const retargetChainLen = 6100

// simnetRetargetChain is the shared simnet chain crossing three retargets.
func simnetRetargetChain() []wire.BlockHeader {
	simnetOnce.Do(func() { simnetChain = genChain(&chaincfg.SimNetParams, retargetChainLen, retargetGaps) })
	return simnetChain
}

// noReduceRetargetChain is the same spacing on simnet without the
// min-difficulty rule, so bits only change at retargets, as on mainnet.
func noReduceRetargetChain(p *chaincfg.Params) []wire.BlockHeader {
	noRedOnce.Do(func() { noRedChain = genChain(p, retargetChainLen, retargetGaps) })
	return noRedChain
}

// startFrom returns the start point at height h of chain with exactly the
// required ancestry.
func startFrom(p *chaincfg.Params, chain []wire.BlockHeader, h int32) StartPoint {
	lo := RequiredBottom(p, h)
	return StartPoint{Height: h, Headers: append([]wire.BlockHeader(nil), chain[lo:h+1]...)}
}

// child returns a mined header on top of parent (a node of tr) at the
// given time, with the bits the tree's rules demand (refBits over the
// node's ancestry).
func child(tr *Tree, p *chaincfg.Params, parent *Node, ts time.Time, salt uint32) wire.BlockHeader {
	h := wire.BlockHeader{
		Version:    0x20000000,
		PrevBlock:  parent.hash,
		MerkleRoot: chainhash.Hash{0xc0, byte(salt), byte(salt >> 8), byte(salt >> 16), byte(salt >> 24)},
		Timestamp:  ts,
		Bits:       p.PowLimitBits,
	}
	if !p.PoWNoRetargeting {
		h.Bits = refBits(p, ancestry(parent), ts)
	}
	mine(&h)
	return h
}

// ancestry returns n's chain as a slice indexed by height from the bottom,
// padded below with zero headers (refBits never reads them when the tree
// kept what it should).
func ancestry(n *Node) []wire.BlockHeader {
	out := make([]wire.BlockHeader, n.height+1)
	for a := n; a != nil; a = a.parent {
		out[a.height] = a.Header()
	}
	return out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
