package staking

import (
	"bytes"
	"errors"
	"math/rand"
	"slices"
	"testing"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

func simGenesis() Genesis {
	g := testGenesis()
	g.Params.MaxValidators = 4
	g.Accounts = append(g.Accounts, GenesisAccount{Address: op(4), Balance: 20_000},
		GenesisAccount{Address: op(5), Balance: 20_000})
	g.Synchronizers = append(g.Synchronizers, GenesisSynchronizer{Address: syncer(2), Bond: 700, Payout: payout(1)})
	return g
}

// TestRandomWorkload drives three states with the same random operations:
// a writes after every operation, b at random points and is reloaded from
// its store at random points, c never writes until the end. Every
// operation must give all three the same result; rejections must change
// nothing; the invariants hold throughout; the stores end byte-identical
// and the roots equal.
func TestRandomWorkload(t *testing.T) {
	seeds := []int64{1, 2, 3, 4, 5, 6}
	n := 1500
	if testing.Short() {
		seeds, n = seeds[:2], 500
	}
	for _, seed := range seeds {
		g := simGenesis()
		newState := func() *State {
			s, err := InitGenesis(g, testPrefix)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		a, b, c := newState(), newState(), newState()
		sa, sb, sc := memstore.New(), memstore.New(), memstore.New()
		r := rand.New(rand.NewSource(seed))
		codes := map[string]map[tx.Code]int{}
		for i, o := range simOps(seed, n) {
			before := a.Root()
			errA := o.f(a)
			errB, errC := o.f(b), o.f(c)
			if tx.CodeOf(errA) != tx.CodeOf(errB) || tx.CodeOf(errA) != tx.CodeOf(errC) {
				t.Fatalf("seed %d op %d %s: results %v / %v / %v", seed, i, o.name, errA, errB, errC)
			}
			if codes[o.name] == nil {
				codes[o.name] = map[tx.Code]int{}
			}
			codes[o.name][tx.CodeOf(errA)]++
			if errA != nil && a.Root() != before {
				t.Fatalf("seed %d op %d %s: rejected (%v) but changed the state", seed, i, o.name, errA)
			}
			if err := a.CheckInvariants(); err != nil {
				t.Fatalf("seed %d op %d %s: %v", seed, i, o.name, err)
			}
			commit(t, a, sa)
			if r.Intn(7) == 0 {
				commit(t, b, sb)
				if r.Intn(3) == 0 {
					var err error
					if b, err = Load(sb, testPrefix); err != nil {
						t.Fatalf("seed %d op %d: Load: %v", seed, i, err)
					}
				}
			}
			if r.Intn(50) == 0 && (a.Root() != b.Root() || a.Root() != c.Root()) {
				t.Fatalf("seed %d op %d: roots differ", seed, i)
			}
		}
		commit(t, b, sb)
		commit(t, c, sc)
		if da, db, dc := dump(sa), dump(sb), dump(sc); !slices.Equal(da, db) || !slices.Equal(da, dc) {
			t.Fatalf("seed %d: stores differ (%d, %d, %d records)", seed, len(da), len(db), len(dc))
		}
		loaded, err := Load(sa, testPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Root() != a.Root() || b.Root() != a.Root() || c.Root() != a.Root() {
			t.Fatalf("seed %d: roots differ", seed)
		}
		if describe(loaded) != describe(a) || describe(b) != describe(a) {
			t.Fatalf("seed %d: loaded state differs:\n%s\nvs\n%s", seed, describe(loaded), describe(a))
		}
		// A fresh Load rebuilds the root from scratch, with no cached bucket.
		if cold, _ := Load(sa, testPrefix); cold.Root() != a.Root() {
			t.Fatal("cold root differs")
		}
		if seed == 1 {
			t.Logf("outcomes by operation: %v", codes)
		}
	}
}

func TestRootDependsOnlyOnState(t *testing.T) {
	h := newHarness(t, testGenesis())
	r0 := h.Root()
	h.ok(h.Transfer(del(1), tx.Transfer{To: del(2), Amount: 10}))
	r1 := h.Root()
	if r1 == r0 {
		t.Fatal("root ignores balances")
	}
	h.ok(h.Transfer(del(2), tx.Transfer{To: del(1), Amount: 10}))
	if h.Root() != r0 {
		t.Fatal("same state, different root")
	}
	// A state built along another path has the same root: genesis with
	// the transfer already made, versus making it.
	g := testGenesis()
	g.Accounts[1].Balance -= 10
	g.Accounts[3].Balance += 10
	other := newHarness(t, g)
	if other.Root() != r1 {
		t.Fatal("equal states built differently have different roots")
	}
	if newHarness(t, testGenesis()).Root() != r0 {
		t.Fatal("root not reproducible")
	}
}

func TestLoadEmptyAndForeign(t *testing.T) {
	st := memstore.New()
	if _, err := Load(st, testPrefix); !errors.Is(err, ErrNoState) {
		t.Fatalf("empty store: %v", err)
	}
	h := newHarness(t, testGenesis())
	commit(t, h.State, st)
	// Another prefix sees nothing.
	if _, err := Load(st, 'T'); !errors.Is(err, ErrNoState) {
		t.Fatalf("other prefix: %v", err)
	}
	for name, k := range map[string][]byte{
		"unknown tag":     {testPrefix, 'z', 1},
		"unknown version": {testPrefix, 'a', 2},
		"short key":       {testPrefix, 'a'},
		"bad body length": append([]byte{testPrefix, 'a', 1}, make([]byte, 31)...),
	} {
		s2 := copyStore(t, st)
		put(t, s2, k, []byte{1})
		if _, err := Load(s2, testPrefix); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, tag := range map[string]byte{"params": tagParams, "global": tagGlobal} {
		s2 := copyStore(t, st)
		del := []byte{testPrefix, tag, keyVersion}
		if err := s2.Update(100, false, func(b utxo.Batch) error { b.Delete(del); return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(s2, testPrefix); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s missing: %v", name, err)
		}
	}
}

func copyStore(t testing.TB, st *memstore.Store) *memstore.Store {
	out := memstore.New()
	for _, kv := range dump(st) {
		put(t, out, []byte(kv[0]), []byte(kv[1]))
	}
	return out
}

func put(t testing.TB, st *memstore.Store, k, v []byte) {
	if err := st.Update(len(k)+len(v)+20, false, func(b utxo.Batch) error { b.Put(k, v); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestLoadCorrupt damages each stored record in turn: a value one byte
// short or long must fail with ErrCorrupt; a flipped byte must not panic
// and, if it loads, give a consistent state.
func TestLoadCorrupt(t *testing.T) {
	s, err := InitGenesis(simGenesis(), testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range simOps(9, 400) {
		_ = o.f(s)
		_ = i
	}
	st := memstore.New()
	commit(t, s, st)
	recs := dump(st)
	tags := map[byte]bool{}
	r := rand.New(rand.NewSource(1))
	for _, kv := range recs {
		k, v := []byte(kv[0]), []byte(kv[1])
		tags[k[1]] = true
		for _, bad := range [][]byte{v[:len(v)-1], append(bytes.Clone(v), 0), nil} {
			s2 := copyStore(t, st)
			put(t, s2, k, bad)
			if _, err := Load(s2, testPrefix); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("record %x with value %x: %v", k, bad, err)
			}
		}
		for j := 0; j < 4; j++ {
			flipped := bytes.Clone(v)
			flipped[r.Intn(len(v))] ^= byte(1 + r.Intn(255))
			s2 := copyStore(t, st)
			put(t, s2, k, flipped)
			if got, err := Load(s2, testPrefix); err == nil {
				if err := got.CheckInvariants(); err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("record %x flipped: %v", k, err)
			}
		}
	}
	for _, tag := range []byte{tagAccount, tagParams, tagDelegation, tagGlobal, tagPower, tagSynchronizer, tagUnbonding, tagValidator, tagWindow, tagMissed} {
		if !tags[tag] {
			t.Errorf("workload stored no %q record", tag)
		}
	}
}

// countBatch counts the writes WriteChanges makes.
type countBatch struct{ puts, dels int }

func (b *countBatch) Put(k, v []byte) { b.puts++ }
func (b *countBatch) Delete(k []byte) { b.dels++ }
func (b *countBatch) Len() int        { return b.puts + b.dels }

func TestWriteChangesOnlyChanges(t *testing.T) {
	h := newHarness(t, testGenesis())
	var b countBatch
	h.WriteChanges(&b)
	if b.dels != 0 || b.puts == 0 {
		t.Fatalf("genesis wrote %+v", b)
	}
	b = countBatch{}
	h.WriteChanges(&b)
	if b.Len() != 0 {
		t.Fatalf("nothing changed, wrote %+v", b)
	}
	// A transfer changes two accounts; a transfer and its reverse nothing.
	h.ok(h.Transfer(del(1), tx.Transfer{To: del(2), Amount: 10}))
	h.WriteChanges(&b)
	if b.puts != 2 || b.dels != 0 {
		t.Fatalf("transfer wrote %+v", b)
	}
	b = countBatch{}
	h.ok(h.Transfer(del(1), tx.Transfer{To: del(2), Amount: 10}))
	h.ok(h.Transfer(del(2), tx.Transfer{To: del(1), Amount: 10}))
	h.Root()
	h.WriteChanges(&b)
	if b.Len() != 0 {
		t.Fatalf("no net change, wrote %+v", b)
	}
	// A delegation undone completely deletes its record.
	b = countBatch{}
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: op(1), Amount: 10}))
	h.WriteChanges(&b)
	b = countBatch{}
	h.ok(h.Undelegate(del(1), tx.Undelegate{Validator: op(1), Amount: 10}, 1, t0))
	h.WriteChanges(&b)
	if b.dels != 1 {
		t.Fatalf("undelegation wrote %+v", b)
	}
}
