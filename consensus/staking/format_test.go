package staking

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo/memstore"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWorkedExample checks the two records of doc.go's worked example.
func TestWorkedExample(t *testing.T) {
	g := Genesis{Params: testParams(),
		Accounts:   []GenesisAccount{{Address: addrOf(1), Balance: 100_250_000}},
		Validators: []GenesisValidator{{Operator: addrOf(2), ConsensusKey: consKey(2), EndorserKey: addrOf(3), SelfStake: 1000}},
	}
	g.Params.UnbondingPeriod = time.Duration(t0.UnixNano())
	h := newHarness(t, g)
	h.ok(h.Delegate(addrOf(1), tx.Delegate{Validator: addrOf(2), Amount: 250_000}))
	h.ok(h.Undelegate(addrOf(1), tx.Undelegate{Validator: addrOf(2), Amount: 250_000}, 42, time.Unix(0, 0)))
	for i := uint64(1); i <= 3; i++ {
		h.ok(h.CheckAndBumpNonce(addrOf(1), i))
	}
	st := memstore.New()
	commit(t, h.State, st)

	for _, rec := range []struct{ key, value string }{
		{"53 61 01 1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f",
			"0000000005f5e100 0000000000000003"},
		{`53 75 01 97a6101701650000
		  1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f
		  4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766
		  800000000000002a`,
			"000000000003d090"},
	} {
		got, err := st.Get(unhex(t, rec.key))
		if err != nil {
			t.Fatalf("key %s: %v", rec.key, err)
		}
		if !bytes.Equal(got, unhex(t, rec.value)) {
			t.Fatalf("key %s: value %x, want %s", rec.key, got, rec.value)
		}
	}
}

// TestValidatorLayout pins the validator value's offsets of doc.go.
func TestValidatorLayout(t *testing.T) {
	v := &validator{consensusKey: [32]byte{1}, endorser: tx.Address{2}, commissionBps: 0x0304,
		tokens: 5, shares: 6, jailed: true, tombstoned: true, jailedUntil: -2, missed: 7, commission: 8, pool: 9,
		acc: u256{31: 10}, moniker: "ab"}
	b := encodeValidator(v)
	want := unhex(t, `01`+strings.Repeat("00", 31)+`02`+strings.Repeat("00", 31)+`0304
		0000000000000005 0000000000000006 02 fffffffffffffffe 00000007 0000000000000008 0000000000000009`+
		strings.Repeat("00", 31)+`0a 02 6162`)
	if !bytes.Equal(b, want) {
		t.Fatalf("validator value\n%x\nwant\n%x", b, want)
	}
	got, err := decodeValidator(v.operator, b)
	if err != nil || *got != *v {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if len(encodeParams(testParams())) != paramsValueLen {
		t.Fatal("params length")
	}
}
