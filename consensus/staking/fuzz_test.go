package staking

import (
	"bytes"
	"testing"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo/memstore"
)

// FuzzDecodeValues feeds arbitrary bytes to every value decoder: none may
// panic, and whatever decodes must re-encode to the same bytes (one
// encoding per value, which Root relies on).
func FuzzDecodeValues(f *testing.F) {
	h, err := InitGenesis(testGenesis(), testPrefix)
	if err != nil {
		f.Fatal(err)
	}
	st := memstore.New()
	commit(f, h, st)
	for _, kv := range dump(st) {
		f.Add(kv[0][1:2] + kv[1])
	}
	f.Add("v")
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) == 0 {
			return
		}
		tag, v := in[0], []byte(in[1:])
		var again []byte
		switch tag {
		case tagAccount:
			if a, err := decodeAccount(v); err == nil {
				again = encodeAccount(a)
			}
		case tagValidator:
			if x, err := decodeValidator(tx.Address{}, v); err == nil {
				again = encodeValidator(x)
			}
		case tagDelegation:
			if d, err := decodeDelegation(v); err == nil {
				again = encodeDelegation(d)
			}
		case tagSynchronizer:
			if y, err := decodeSynchronizer(v); err == nil {
				again = encodeSynchronizer(y)
			}
		case tagGlobal:
			if s, c, err := decodeGlobal(v); err == nil {
				again = encodeGlobal(s, c)
			}
		case tagParams:
			if p, err := decodeParams(v); err == nil {
				again = encodeParams(p)
			}
		case tagUnbonding, tagPower:
			if x, err := decodePositive(v, maxPower); err == nil {
				again = encodeAmount(x)
			}
			if k, ok := parseUnbondingKey(v); ok && unbondingKey(k)[2:] != string(v) {
				t.Fatalf("unbonding key %x does not round-trip", v)
			}
		default:
			return
		}
		if again != nil && !bytes.Equal(again, v) {
			t.Fatalf("tag %q: %x re-encodes as %x", tag, v, again)
		}
	})
}

// FuzzLoad replaces one record of a valid store with arbitrary bytes: Load
// must fail with an error or return a state that passes its invariants.
func FuzzLoad(f *testing.F) {
	s, err := InitGenesis(simGenesis(), testPrefix)
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range simOps(3, 200) {
		_ = o.f(s)
	}
	st := memstore.New()
	commit(f, s, st)
	recs := dump(st)
	for i, kv := range recs {
		f.Add(uint16(i), []byte(kv[1]))
	}
	f.Fuzz(func(t *testing.T, which uint16, v []byte) {
		k := recs[int(which)%len(recs)][0]
		st2 := copyStore(t, st)
		put(t, st2, []byte(k), v)
		got, err := Load(st2, testPrefix)
		if err != nil {
			return
		}
		if err := got.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		got.Root()
	})
}
