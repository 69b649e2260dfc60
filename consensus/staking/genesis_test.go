package staking

import (
	"errors"
	"github.com/satnode/satnode/consensus/tx"
	"math"
	"strings"
	"testing"
)

func TestParamsValidate(t *testing.T) {
	if err := testParams().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Params){
		"max_validators 0":        func(p *Params) { p.MaxValidators = 0 },
		"max_validators too many": func(p *Params) { p.MaxValidators = MaxActiveSet + 1 },
		"unbonding 0":             func(p *Params) { p.UnbondingPeriod = 0 },
		"min_self_stake 0":        func(p *Params) { p.MinSelfStake = 0 },
		"min_synchronizer_bond 0": func(p *Params) { p.MinSynchronizerBond = 0 },
		"power_reduction 15":      func(p *Params) { p.PowerReduction = 15 },
		"halving 0":               func(p *Params) { p.HalvingInterval = 0 },
		"sync share 10001":        func(p *Params) { p.SynchronizerShareBps = 10001 },
		"double sign 100%":        func(p *Params) { p.DoubleSignSlashBps = 10000 },
		"double sign jail < 0":    func(p *Params) { p.DoubleSignJailDuration = -1 },
		"window 0":                func(p *Params) { p.DowntimeWindow = 0 },
		"max missed = window":     func(p *Params) { p.DowntimeMaxMissed = p.DowntimeWindow },
		"late share 10001":        func(p *Params) { p.LateRewardBps = 10001 },
		"reward overflows":        func(p *Params) { p.InitialReward, p.HalvingInterval = 1<<62, 1<<20 },
		"downtime jail < 0":       func(p *Params) { p.DowntimeJailDuration = -1 },
		"downtime 100%":           func(p *Params) { p.DowntimeSlashBps = 10000 },
	} {
		p := testParams()
		mut(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestInitGenesisRejects(t *testing.T) {
	var offCurve [32]byte
	for i := 0; validAddr(offCurve) == nil; i++ {
		offCurve[31] = byte(i)
	}
	if _, err := InitGenesis(testGenesis(), 's'); !errors.Is(err, ErrInvalidGenesis) {
		t.Errorf("reserved prefix: %v", err)
	}
	for _, c := range []struct {
		name, want string
		mut        func(*Genesis)
	}{
		{"bad params", "power_reduction", func(g *Genesis) { g.Params.PowerReduction = 1 }},
		{"zero balance", "zero balance", func(g *Genesis) { g.Accounts[0].Balance = 0 }},
		{"duplicate account", "listed twice", func(g *Genesis) { g.Accounts[1].Address = g.Accounts[0].Address }},
		{"account off curve", "account 0", func(g *Genesis) { g.Accounts[0].Address = offCurve }},
		{"operator off curve", "operator", func(g *Genesis) { g.Validators[0].Operator = offCurve }},
		{"duplicate operator", "ValidatorExists", func(g *Genesis) { g.Validators[1].Operator = g.Validators[0].Operator }},
		{"duplicate consensus key", "consensus key", func(g *Genesis) { g.Validators[1].ConsensusKey = g.Validators[0].ConsensusKey }},
		{"bad consensus key", "ed25519", func(g *Genesis) { g.Validators[1].ConsensusKey = badEdKey(t) }},
		{"duplicate endorser", "endorser key", func(g *Genesis) { g.Validators[1].EndorserKey = g.Validators[0].EndorserKey }},
		{"endorser is operator", "operates a validator", func(g *Genesis) { g.Validators[1].EndorserKey = g.Validators[0].Operator }},
		{"operator is endorser", "endorser key", func(g *Genesis) { g.Validators[1].Operator = g.Validators[0].EndorserKey }},
		{"zero stake", "self stake", func(g *Genesis) { g.Validators[0].SelfStake = 0 }},
		{"stake below minimum", "below the minimum", func(g *Genesis) { g.Validators[0].SelfStake = 999 }},
		{"commission", "commission", func(g *Genesis) { g.Validators[0].CommissionBps = 10001 }},
		{"moniker", "moniker", func(g *Genesis) { g.Validators[0].Moniker = "\u202e" }},
		{"bond below minimum", "bond", func(g *Genesis) { g.Synchronizers[0].Bond = 499 }},
		{"duplicate synchronizer", "already a synchronizer", func(g *Genesis) {
			g.Synchronizers = append(g.Synchronizers, g.Synchronizers[0])
		}},
		{"payout off curve", "payout", func(g *Genesis) { g.Synchronizers[0].Payout = offCurve }},
		{"supply overflow", "supply", func(g *Genesis) { g.Accounts[0].Balance = math.MaxUint64 }},
	} {
		g := testGenesis()
		c.mut(&g)
		_, err := InitGenesis(g, testPrefix)
		if !errors.Is(err, ErrInvalidGenesis) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrInvalidGenesis mentioning %q", c.name, err, c.want)
		}
	}
}

func validAddr(a [32]byte) error { return tx.Address(a).Validate() }

func TestInitGenesis(t *testing.T) {
	h := newHarness(t, testGenesis())
	// 3 operators with 50,000 and 3 delegators with 100,000, 60,000
	// staked, 1000 bonded.
	if h.Supply() != 3*50_000+3*100_000+60_000+1000 {
		t.Fatalf("supply %d", h.Supply())
	}
	if len(h.Validators()) != 3 || len(h.Synchronizers()) != 1 || h.TotalPower() != 600 {
		t.Fatal("genesis contents")
	}
	// Every operator, endorser key and synchronizer has an account.
	for _, a := range []tx.Address{op(1), endorser(2), syncer(1)} {
		if _, ok := h.Account(a); !ok {
			t.Fatalf("no account for %s", a)
		}
	}
	if _, ok := h.Account(payout(1)); ok {
		t.Fatal("payout address has an account before being paid")
	}
}
