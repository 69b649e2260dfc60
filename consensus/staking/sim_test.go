package staking

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// A random workload: a seeded sequence of operations, each a closure that
// may read the state it is applied to (to pick a nonce or a delegation's
// value), so the same sequence can drive several states in lockstep.

type simOp struct {
	name string
	f    func(*State) error
}

// simClock is the CometBFT and Bitcoin heights and block time the
// workload advances.
type simClock struct {
	height int64
	now    time.Time
	btc    int32
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

var (
	simOperators  = []tx.Address{op(1), op(2), op(3), op(4), op(5), del(4)}
	simDelegators = []tx.Address{del(1), del(2), del(3), del(4), op(1), op(2), payout(1)}
	simSyncers    = []tx.Address{syncer(1), syncer(2), del(2)}
)

func simKeyOf(a tx.Address) byte {
	for i, o := range simOperators {
		if o == a {
			return byte(0x10 + i + 1)
		}
	}
	return 0x99
}

// simOps returns n random operations. Amounts are drawn so that most
// operations succeed and every kind of rejection occurs.
func simOps(seed int64, n int) []simOp {
	r := rand.New(rand.NewSource(seed))
	c := &simClock{height: 1, now: t0}
	ops := make([]simOp, 0, n)
	for len(ops) < n {
		ops = append(ops, simNext(r, c))
	}
	return ops
}

func simNext(r *rand.Rand, c *simClock) simOp {
	amount := func() uint64 {
		if r.Intn(10) == 0 {
			return uint64(r.Int63n(200_000))
		}
		return uint64(1 + r.Intn(5000))
	}
	switch k := r.Intn(14); k {
	case 0:
		a, skew := pick(r, simDelegators), uint64(0)
		if r.Intn(5) == 0 {
			skew = uint64(r.Intn(3))
		}
		return simOp{"nonce", func(s *State) error {
			acct, _ := s.Account(a)
			return s.CheckAndBumpNonce(a, acct.Nonce+1+skew)
		}}
	case 1:
		from, to, amt := pick(r, simDelegators), pick(r, simDelegators), amount()
		return simOp{"transfer", func(s *State) error { return s.Transfer(from, tx.Transfer{To: to, Amount: amt}) }}
	case 2:
		o := pick(r, simOperators)
		m := tx.CreateValidator{ConsensusKey: consKey(simKeyOf(o)), EndorserKey: addrOf(0x60 + byte(r.Intn(4))),
			CommissionBps: uint16(r.Intn(3000)), SelfStake: 900 + uint64(r.Intn(3000)), Moniker: "sim"}
		return simOp{"create", func(s *State) error { return s.CreateValidator(o, m) }}
	case 3, 4:
		d, v, amt := pick(r, simDelegators), pick(r, simOperators), amount()
		return simOp{"delegate", func(s *State) error { return s.Delegate(d, tx.Delegate{Validator: v, Amount: amt}) }}
	case 5:
		d, v, amt, all := pick(r, simDelegators), pick(r, simOperators), amount(), r.Intn(3) == 0
		h, now := c.height, c.now
		which := r.Intn(5)
		return simOp{"undelegate", func(s *State) error {
			if ds := s.DelegationsOf(d); len(ds) > 0 && which > 0 {
				v = ds[which%len(ds)].Validator
			}
			a := amt
			if dd, ok := s.Delegation(d, v); ok && all && dd.Tokens > 0 {
				a = dd.Tokens
			}
			return s.Undelegate(d, tx.Undelegate{Validator: v, Amount: a}, h, now)
		}}
	case 6:
		d, v := pick(r, simDelegators), pick(r, simOperators)
		return simOp{"withdraw", func(s *State) error {
			_, err := s.WithdrawRewards(d, tx.WithdrawRewards{Validator: v})
			return err
		}}
	case 7:
		a, bond := pick(r, simSyncers), 400+uint64(r.Intn(1000))
		return simOp{"register", func(s *State) error {
			return s.RegisterSynchronizer(a, tx.RegisterSynchronizer{Bond: bond, Payout: payout(2)})
		}}
	case 8:
		o, now := pick(r, simOperators), c.now
		return simOp{"unjail", func(s *State) error { return s.Unjail(o, now) }}
	case 9, 10:
		c.btc += int32(r.Intn(3))
		btc, y := c.btc, pick(r, simSyncers)
		var es []tx.Address
		for _, o := range r.Perm(len(simOperators)) {
			if r.Intn(2) == 0 {
				es = append(es, simOperators[o])
			}
		}
		strict := r.Intn(10) == 0
		return simOp{"reward", func(s *State) error {
			list := es
			if !strict { // the app reports only validators that exist
				list = nil
				for _, e := range es {
					if _, ok := s.Validator(e); ok {
						list = append(list, e)
					}
				}
			}
			// The app lists on-time endorsers, then late ones.
			half := len(list) / 2
			_, err := s.PayBitcoinBlockReward(btc, y, list[:half], list[half:])
			return err
		}}
	case 11:
		key, h, now := consKey(simKeyOf(pick(r, simOperators))), c.height-int64(r.Intn(5)), c.now
		if r.Intn(8) != 0 {
			return simOp{"endorsements", simEndorsements(r, now)}
		}
		return simOp{"slash", func(s *State) error {
			_, err := s.SlashDoubleSign(key, h, now)
			return err
		}}
	default:
		c.height++
		c.now = c.now.Add(time.Duration(r.Intn(40)) * time.Second)
		now := c.now
		return simOp{"endblock", func(s *State) error { s.EndBlock(now); return nil }}
	}
}

func simEndorsements(r *rand.Rand, now time.Time) func(*State) error {
	var signed []tx.Address
	for _, o := range simOperators[:5] {
		if r.Intn(3) != 0 {
			signed = append(signed, o)
		}
	}
	return func(s *State) error {
		// Only existing validators: the app never reports others.
		var keep []tx.Address
		for _, x := range signed {
			if _, ok := s.Validator(x); ok {
				keep = append(keep, x)
			}
		}
		_, err := s.RecordAttendance(keep, now)
		return err
	}
}

// describe renders everything the getters show, to compare two states.
func describe(s *State) string {
	out := fmt.Sprintf("supply %d community %d params %+v power %d\n", s.Supply(), s.CommunityPool(),
		s.Params(), s.TotalPower())
	for _, a := range s.Accounts() {
		out += fmt.Sprintf("%+v %+v\n", a, s.DelegationsOf(a.Address))
	}
	return out + fmt.Sprintf("%+v\n%+v\n%+v\n%+v\n", s.Validators(), s.Unbondings(), s.Synchronizers(),
		s.ActiveValidators())
}
