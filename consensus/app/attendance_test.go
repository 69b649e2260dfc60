package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
)

// blockWith finalizes and commits one block with evidence and txs, which
// must all succeed.
func (h *harness) blockWith(mis []abci.Misbehavior, txs ...[]byte) *abci.ResponseFinalizeBlock {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(5 * time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: h.now,
		Txs: txs, Misbehavior: mis})
	if err != nil {
		h.t.Fatalf("block %d: %v", h.height, err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatalf("commit %d: %v", h.height, err)
	}
	for i, r := range res.TxResults {
		if r.Code != 0 {
			h.t.Fatalf("block %d tx %d: code %d (%s): %s", h.height, i, r.Code, tx.Code(r.Code), r.Log)
		}
	}
	return res
}

// doubleSign is CometBFT's evidence that validator i double-signed at
// height.
func (h *harness) doubleSign(i int, height int64) abci.Misbehavior {
	addr := sha256.Sum256(h.vals[i].cons)
	return abci.Misbehavior{Type: abci.MisbehaviorType_DUPLICATE_VOTE,
		Validator: abci.Validator{Address: addr[:20], Power: 10}, Height: height, Time: h.now}
}

func (h *harness) validator(i int) staking.Validator {
	h.t.Helper()
	v, ok := h.app.stake.Validator(h.vals[i].op.addr)
	if !ok {
		h.t.Fatalf("no validator %d", i)
	}
	return v
}

// earned is what validator i has been credited so far: commission and
// its delegators' pool (nothing is withdrawn in these tests).
func (h *harness) earned(i int) uint64 {
	v := h.validator(i)
	return v.Commission + v.RewardPool
}

// TestLateEndorser: four equal validators; for 1,000 Bitcoin blocks, three
// endorse each in the satnode block that makes it canonical and the
// fourth one satnode block later. The fourth is never jailed and misses
// nothing; it is paid exactly late_reward_bps of what an on-time validator
// is paid, and the community pool gets the cut.
func TestLateEndorser(t *testing.T) {
	const blocks = 1000
	chain := genChain(t, 11, blocks)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6}})
	p := h.app.params
	pool := h.app.stake.CommunityPool()
	var fees uint64 // they go to the community pool too
	block := func(txs ...[]byte) {
		for _, raw := range txs {
			fees += p.Fee(len(raw))
		}
		h.mustOK(txs...)
	}
	for k := 1; k <= blocks; k++ {
		txs := h.submit(chain[k : k+1])
		for i := range 3 {
			txs = append(txs, h.endorse(i, int32(k), chain[k:k+1])...)
		}
		if k > 1 {
			txs = append(txs, h.endorse(3, int32(k-1), chain[k-1:k])...)
		}
		block(txs...)
		if h.btcTip() != int32(k) {
			t.Fatalf("satnode block %d: Bitcoin tip %d, want %d", h.height, h.btcTip(), k)
		}
	}
	block(h.endorse(3, blocks, chain[blocks:])...)
	for range p.AttendanceWindow {
		block()
	}
	if r := h.app.recs.m[blockHash(chain[blocks])]; r == nil || !r.paid || len(r.late) != 1 {
		t.Fatalf("the last block is not settled with one late endorser: %+v", r)
	}

	late := h.validator(3)
	if late.Jailed || late.Missed != 0 {
		t.Fatalf("the late validator: jailed %v, missed %d", late.Jailed, late.Missed)
	}
	// Per block: 50M, 20% to the synchronizer, 40M over four equal stakes.
	onTime := uint64(blocks) * (p.InitialReward - p.InitialReward*uint64(p.SynchronizerShareBps)/10_000) / 4
	for i := range 3 {
		if got := h.earned(i); got != onTime {
			t.Fatalf("on-time validator %d earned %d, want %d", i, got, onTime)
		}
	}
	if got := h.earned(3); got*10_000 != onTime*uint64(p.LateRewardBps) {
		t.Fatalf("the late validator earned %d, want %d bps of %d", got, p.LateRewardBps, onTime)
	}
	if got := h.app.stake.CommunityPool() - pool - fees; got != onTime-h.earned(3) {
		t.Fatalf("the community pool got %d besides fees, want the late cut %d", got, onTime-h.earned(3))
	}
}

// TestDowntimeWindow: a validator that never endorses is jailed once it
// has missed more than downtime_max_missed of its last downtime_window
// rounds, and loses downtime_slash_bps; a jailed validator cannot endorse.
func TestDowntimeWindow(t *testing.T) {
	chain := genChain(t, 12, 8)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6},
		params: func(p *Params) { p.DowntimeWindow, p.DowntimeMaxMissed, p.AttendanceWindow = 6, 3, 2 }})
	p := h.app.params
	settled := func() int {
		n := 0
		for _, r := range h.app.recs.m {
			if r.paid {
				n++
			}
		}
		return n
	}
	for k := 1; settled() < 4; k++ {
		txs := h.submit(chain[k : k+1])
		for i := range 3 {
			txs = append(txs, h.endorse(i, int32(k), chain[k:k+1])...)
		}
		h.mustOK(txs...)
		v := h.validator(3)
		if n := settled(); n <= 3 {
			if v.Jailed || v.Missed != uint32(n) {
				t.Fatalf("after %d rounds: jailed %v, missed %d", n, v.Jailed, v.Missed)
			}
			continue
		}
		if !v.Jailed || v.Missed != 0 || v.Tokens != 10e6-10e6*uint64(p.DowntimeSlashBps)/10_000 {
			t.Fatalf("after 4 missed rounds: %+v", v)
		}
	}
	if h.app.stake.Power(h.vals[3].op.addr) != 0 {
		t.Fatal("the jailed validator has power")
	}
	res := h.block(h.endorse(3, 1, chain[1:2])...)
	if c := tx.Code(res.TxResults[0].Code); c != tx.CodeNotActive {
		t.Fatalf("a jailed validator endorsing: code %s", c)
	}
}

// TestJailedEndorsements: a validator jailed after endorsing a block
// neither counts toward its 2/3 nor earns from it, nor dilutes the
// others; its new endorsements are refused.
func TestJailedEndorsements(t *testing.T) {
	chain := genChain(t, 13, 2)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6}})
	h.mustOK(h.submit(chain[1:2])...)
	// Validators 0 and 3 endorse: 20 of 40, not enough.
	h.mustOK(append(h.endorse(0, 1, chain[1:2]), h.endorse(3, 1, chain[1:2])...)...)
	if h.btcTip() != 0 {
		t.Fatal("half the power made a block canonical")
	}
	// Validator 3 is jailed: 0's 10 of the remaining 30 is not 2/3, and
	// 3's endorsement no longer counts (with it, 20 of 30 would).
	h.blockWith([]abci.Misbehavior{h.doubleSign(3, h.height)})
	if !h.validator(3).Jailed || h.btcTip() != 0 {
		t.Fatalf("jailed %v, tip %d", h.validator(3).Jailed, h.btcTip())
	}
	if res := h.block(h.endorse(3, 1, chain[1:2])...); tx.Code(res.TxResults[0].Code) != tx.CodeNotActive {
		t.Fatalf("a jailed validator endorsing: code %s", tx.Code(res.TxResults[0].Code))
	}
	h.mustOK(h.endorse(1, 1, chain[1:2])...) // 20 of 30
	if h.btcTip() != 1 {
		t.Fatal("two thirds of the active power did not make the block canonical")
	}
	for range h.app.params.AttendanceWindow {
		h.mustOK()
	}
	// 40M over validators 0 and 1 only: 20M each; 3 gets nothing.
	if h.earned(0) != 20e6 || h.earned(1) != 20e6 || h.earned(2) != 0 || h.earned(3) != 0 {
		t.Fatalf("earned %d %d %d %d", h.earned(0), h.earned(1), h.earned(2), h.earned(3))
	}
}

// TestDoubleSignTombstone: duplicate evidence, in one block and again
// later, slashes once and tombstones; Unjail is refused after the jail
// time, and so is any further evidence.
func TestDoubleSignTombstone(t *testing.T) {
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6}})
	h.mustOK()
	ev := h.doubleSign(2, h.height)
	h.blockWith([]abci.Misbehavior{ev, ev})
	h.blockWith([]abci.Misbehavior{ev, h.doubleSign(2, h.height)})
	v := h.validator(2)
	want := uint64(10e6) - 10e6*uint64(h.app.params.DoubleSignSlashBps)/10_000
	if !v.Jailed || !v.Tombstoned || v.Tokens != want {
		t.Fatalf("after evidence: %+v, want %d tokens", v, want)
	}
	h.now = h.now.Add(time.Duration(h.app.params.DoubleSignJailDuration) + time.Hour)
	res := h.block(h.sign(h.vals[2].op, tx.Unjail{}))
	if c := tx.Code(res.TxResults[0].Code); c != tx.CodeTombstoned || !strings.Contains(res.TxResults[0].Log, "tombstoned") {
		t.Fatalf("unjail after the jail time: code %s (%s)", c, res.TxResults[0].Log)
	}
	if v := h.validator(2); !v.Jailed || v.Tokens != want {
		t.Fatalf("after unjail: %+v", v)
	}
}

// TestSettleAfterReorg: blocks that leave the canonical chain inside their
// attendance window are not paid and take no attendance; the branch that
// replaced them is paid once its windows close, and a restart in between
// rebuilds the open windows.
func TestSettleAfterReorg(t *testing.T) {
	a, b := genChain(t, 1, 4), genChain(t, 2, 5)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6}})
	all := func(raws [][]byte) [][]byte {
		var txs [][]byte
		for i := range h.vals {
			txs = append(txs, h.endorse(i, 1, raws)...)
		}
		return txs
	}
	h.mustOK(h.submit(a[1:])...)
	h.mustOK(all(a[1:])...)
	if h.btcTip() != 4 {
		t.Fatalf("tip %d", h.btcTip())
	}
	h.mustOK(h.submit(b[1:])...)
	syncBefore, _ := h.app.stake.Account(h.sync.addr)
	h.mustOK(all(b[1:])...)
	if _, hash, _ := h.app.engine.Tip(); hash != blockHash(b[5]) {
		t.Fatal("no reorg")
	}
	h.app.Close()
	h.app = h.open()
	for range h.app.params.AttendanceWindow {
		h.mustOK()
	}
	for i := 1; i <= 4; i++ {
		if r := h.app.recs.m[blockHash(a[i])]; r == nil || r.paid || r.canonicalAt != 0 {
			t.Fatalf("abandoned block %d: %+v", i, r)
		}
	}
	for i := 1; i <= 5; i++ {
		if r := h.app.recs.m[blockHash(b[i])]; r == nil || !r.paid {
			t.Fatalf("canonical block %d not settled: %+v", i, r)
		}
	}
	syncAfter, _ := h.app.stake.Account(h.sync.addr)
	p := h.app.params
	if got, want := syncAfter.Balance-syncBefore.Balance, 5*p.InitialReward*uint64(p.SynchronizerShareBps)/10_000; got != want {
		t.Fatalf("synchronizer earned %d, want %d (five blocks)", got, want)
	}
	for i := range h.vals {
		if v := h.validator(i); v.Missed != 0 {
			t.Fatalf("validator %d missed %d", i, v.Missed)
		}
	}
}

// TestRecordLayout pins records.go's example and refuses what encode
// never writes: the version 1 layout, an operator both on time and late,
// a non-minimal uvarint.
func TestRecordLayout(t *testing.T) {
	s, a, b := tx.Address{0x53}, tx.Address{0xaa}, tx.Address{0xbb}
	r := &blockRec{height: 7, hash: [32]byte{1}, submitter: s, endorsers: []tx.Address{a}, late: []tx.Address{b},
		endorsed: true, canonicalAt: 300}
	want := append(append(append(append(s[:], 0x05, 0xac, 0x02, 0x01), a[:]...), 0x01), b[:]...)
	v := r.encode()
	if !bytes.Equal(v, want) {
		t.Fatalf("value %x, want %x", v, want)
	}
	k := recKey(r.height, r.hash)
	got, err := decodeRec(k, v)
	if err != nil || got.canonicalAt != 300 || !got.endorsed || got.paid || len(got.endorsers) != 1 || got.late[0] != b {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, bad := range map[string][]byte{
		"version 1":        append(append(s[:], 0x01, 0x01), a[:]...),
		"on time and late": append(append(append(append(s[:], 0x05, 0x00, 0x01), a[:]...), 0x01), a[:]...),
		"long uvarint":     append(append(s[:], 0x05, 0x80, 0x00, 0x00), 0x00),
		"trailing byte":    append(bytes.Clone(v), 0),
	} {
		if _, err := decodeRec(k, bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
