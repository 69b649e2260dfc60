package btcheaders

import (
	"math/big"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

type retargetCase struct {
	name  string
	p     *chaincfg.Params
	chain func() []wire.BlockHeader
}

func retargetCases() []retargetCase {
	nr := simnetNoReduce()
	return []retargetCase{
		{"simnet", &chaincfg.SimNetParams, simnetRetargetChain},
		{"simnet-noreduce", nr, func() []wire.BlockHeader { return noReduceRetargetChain(nr) }},
	}
}

// TestRetargetChains adds simnet chains that cross the retargets at 2016,
// 4032 and 6048 with real difficulty changes, one with the min-difficulty
// rule (like testnet3) and one without (like mainnet).
func TestRetargetChains(t *testing.T) {
	for _, c := range retargetCases() {
		t.Run(c.name, func(t *testing.T) {
			chain := c.chain()
			tr := mustNew(t, c.p, StartPoint{})
			minDiff := 0
			for i := 1; i < len(chain); i++ {
				mustAdd(t, tr, &chain[i])
				if i%2016 != 0 && chain[i].Bits == c.p.PowLimitBits && chain[i-1].Bits != c.p.PowLimitBits {
					minDiff++
				}
			}
			// The bits the retargets produced: harder at 2016 and 4032.
			for _, r := range []int{2016, 4032} {
				before := chain[r-2].Bits // chain[r-1] may be a min-difficulty header
				if chain[r].Bits == before || chain[r].Bits == c.p.PowLimitBits {
					t.Fatalf("no retarget at %d: bits %08x, before %08x", r, chain[r].Bits, before)
				}
			}
			if c.p.ReduceMinDifficulty {
				if minDiff < 20 {
					t.Fatalf("only %d min-difficulty headers", minDiff)
				}
				// 6047 is a min-difficulty header, so (as on testnet3) the
				// retarget at 6048 starts from the limit.
				if chain[6047].Bits != c.p.PowLimitBits || chain[6048].Bits != c.p.PowLimitBits {
					t.Fatalf("bits at 6047/6048: %08x %08x", chain[6047].Bits, chain[6048].Bits)
				}
			} else if minDiff != 0 || chain[6048].Bits == chain[6047].Bits {
				t.Fatalf("min-difficulty headers %d; bits at 6048 %08x", minDiff, chain[6048].Bits)
			}
		})
	}
}

// TestRetargetWrongBits offers, at every retarget and around min-difficulty
// headers, a mined header with other bits than the rules demand.
func TestRetargetWrongBits(t *testing.T) {
	for _, c := range retargetCases() {
		t.Run(c.name, func(t *testing.T) {
			chain := c.chain()
			tr := mustNew(t, c.p, StartPoint{})
			tried := 0
			for i := 1; i < len(chain); i++ {
				h := chain[i]
				if i%2016 == 0 || (i%97 == 0 && i < 4032) || i%97 == 1 {
					for _, bits := range []uint32{c.p.PowLimitBits, chain[i-1].Bits, chain[2015].Bits, chain[4031].Bits, chain[4000].Bits} {
						if bits == h.Bits {
							continue
						}
						bad := h
						bad.Bits = bits
						mine(&bad)
						_, err := tr.Add(&bad, hourAfter(&bad))
						wantCode(t, err, ErrWrongBits)
						tried++
					}
				}
				mustAdd(t, tr, &h)
			}
			if tried < 50 {
				t.Fatalf("only %d wrong-bits headers tried", tried)
			}
		})
	}
}

// TestRetargetStartPoints starts trees at heights around the retarget
// boundaries with exactly the required ancestry. They must accept the rest
// of the chain and make the same decisions as the tree from genesis on
// headers with other bits or earlier times; and one header less of
// ancestry must not be enough.
func TestRetargetStartPoints(t *testing.T) {
	for _, c := range retargetCases() {
		t.Run(c.name, func(t *testing.T) {
			chain := c.chain()
			full := mustNew(t, c.p, StartPoint{})
			for i := 1; i < len(chain); i++ {
				mustAdd(t, full, &chain[i])
			}
			for _, h := range []int32{2015, 2016, 2020, 2025, 2026, 3000, 4031, 4035, 5000, 6047} {
				tr := mustNew(t, c.p, startFrom(c.p, chain, h))
				var diff *big.Int
				for i := int(h) + 1; i < len(chain); i++ {
					// Variants at a few heights: both trees must agree.
					if i%2016 == 0 || i == int(h)+1 || i%97 == 1 {
						for _, v := range variants(chain, i, c.p) {
							_, e1 := tr.Add(&v, hourAfter(&v))
							_, e2 := full.Add(&v, hourAfter(&v))
							if e1 == nil || e2 == nil || codeOf(e1) != codeOf(e2) {
								t.Fatalf("start %d, height %d: start tree says %v, full tree %v", h, i, e1, e2)
							}
						}
					}
					n := mustAdd(t, tr, &chain[i])
					f, _ := full.Get(n.Hash())
					fw, nw := f.Work(), n.Work()
					d := new(big.Int).Sub(new(big.Int).SetBytes(fw[:]), new(big.Int).SetBytes(nw[:]))
					if diff == nil {
						diff = d
					} else if d.Cmp(diff) != 0 {
						t.Fatalf("start %d: work difference changed at %d", h, i)
					}
				}
			}
		})
	}
}

// variants returns mined headers for height i of chain that break one rule:
// other bits, or a time equal to the median time past.
func variants(chain []wire.BlockHeader, i int, p *chaincfg.Params) []wire.BlockHeader {
	var out []wire.BlockHeader
	h := chain[i]
	alt := p.PowLimitBits
	if h.Bits == alt {
		alt = chain[2016].Bits
	}
	v := h
	v.Bits = alt
	mine(&v)
	out = append(out, v)
	v = h
	v.Timestamp = medianOf(chain[max(0, i-11):i])
	mine(&v)
	out = append(out, v)
	return out
}

func medianOf(hs []wire.BlockHeader) time.Time {
	ts := make([]int64, len(hs))
	for i := range hs {
		ts[i] = hs[i].Timestamp.Unix()
	}
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			if ts[j] < ts[i] {
				ts[i], ts[j] = ts[j], ts[i]
			}
		}
	}
	return time.Unix(ts[len(ts)/2], 0)
}

func codeOf(err error) ErrorCode {
	if re, ok := err.(RuleError); ok {
		return re.Code
	}
	return 0
}

// TestAncestryIsTight removes the lowest kept header of a start point's
// ancestry (bypassing New's check) and shows that the tree can then no
// longer validate the chain: the count RequiredAncestry gives is needed.
func TestAncestryIsTight(t *testing.T) {
	for _, c := range retargetCases() {
		t.Run(c.name, func(t *testing.T) {
			chain := c.chain()
			// Retargets: the start of the base's window is needed.
			for _, h := range []int32{3000, 5000} {
				tr := mustNew(t, c.p, startFrom(c.p, chain, h))
				cutBottom(tr)
				var err error
				for i := int(h) + 1; i < len(chain) && err == nil; i++ {
					_, err = tr.Add(&chain[i], hourAfter(&chain[i]))
				}
				if err == nil {
					t.Fatalf("start %d with one ancestor short accepted the whole chain", h)
				}
			}
			// Median time past: the 10 headers below the base are needed. A
			// header one second above the true median is valid; with one
			// header less the tree computes a later median and refuses it.
			const h = 2020
			full := mustNew(t, c.p, startFrom(c.p, chain, h))
			short := mustNew(t, c.p, startFrom(c.p, chain, h))
			cutBottom(short)
			v := child(full, c.p, full.Base(), medianOf(chain[h-10:h+1]).Add(time.Second), 7)
			if _, err := full.Add(&v, hourAfter(&v)); err != nil {
				t.Fatalf("header above the median time past: %v", err)
			}
			_, err := short.Add(&v, hourAfter(&v))
			wantCode(t, err, ErrTimeTooOld)
		})
	}
}

// cutBottom removes the lowest node of tr, bypassing New's check.
func cutBottom(tr *Tree) {
	b := tr.bottom
	nb := b.children[0]
	delete(tr.index, b.hash)
	nb.parent = nil
	ph := b.hash
	nb.prev = &ph
	tr.bottom = nb
}
