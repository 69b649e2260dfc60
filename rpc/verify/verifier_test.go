package verify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/light/provider"
	"github.com/cometbft/cometbft/types"
)

// countingProvider counts the light blocks asked of it, by height.
type countingProvider struct {
	provider.Provider
	mu    sync.Mutex
	calls map[int64]int
}

func counting(p provider.Provider) *countingProvider {
	return &countingProvider{Provider: p, calls: make(map[int64]int)}
}

func (p *countingProvider) LightBlock(ctx context.Context, height int64) (*types.LightBlock, error) {
	p.mu.Lock()
	p.calls[height]++
	p.mu.Unlock()
	return p.Provider.LightBlock(ctx, height)
}

func (p *countingProvider) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += c
	}
	return n
}

// TestVerifier checks many files at several heights with one Verifier:
// each header is fetched and verified once, whatever the order (a height
// above the latest verified, below it, between two); a file of another
// chain, a tampered file and a forged header are refused without
// changing the verdict on the files after them.
func TestVerifier(t *testing.T) {
	ctx := context.Background()
	now := genesisTime.Add(time.Hour)
	// UTXO states committed at heights 2, 4 and 7 (headers 3, 5, 8), a
	// reserves state at 5 (header 6), and a state whose header 7 the
	// primary forges.
	var fixtures []*fixture
	appHashes := map[int64][]byte{}
	for i, h := range []int64{7, 2, 4} {
		fx := newFixture(t, uint64(20+i), 30, nil)
		fx.height = h
		fixtures = append(fixtures, fx)
		appHashes[h+1] = fx.appHash[:]
	}
	rf, rp, _ := reservesFixture(t)
	rf.height = 5
	rp.State = rf.state(t)
	appHashes[6] = rf.appHash[:]
	keys := genPrivKeys(4)
	honest := newChain(9, keys, appHashes)
	g := newFixture(t, 30, 30, nil)
	g.height = 6
	otherKeys := genPrivKeys(4)
	forged := honest.copy()
	forged.add(otherKeys, otherKeys.toValidators(10), 7, g.appHash[:], len(otherKeys))

	var files []*File
	var want []Outpoint
	for _, fx := range fixtures {
		absent := fx.ops[1]
		absent.Vout += 100
		for _, op := range []Outpoint{fx.ops[0], fx.ops[2], absent} {
			files = append(files, &File{UTXO: fx.utxoProof(t, op)})
			want = append(want, op)
		}
	}
	files = append(files, &File{Reserves: rp})

	primary := counting(forged.provider())
	v, err := NewVerifier(ctx, testChainID, honest.trust(), primary, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(pass string) {
		t.Helper()
		for i, f := range files {
			r, err := v.Verify(ctx, f, now)
			if err != nil {
				t.Fatalf("%s: file %d: %v", pass, i, err)
			}
			if r.Header.Height != f.State().HeaderHeight {
				t.Fatalf("%s: file %d verified against header %d", pass, i, r.Header.Height)
			}
			if f.Reserves != nil {
				if r.Reserves == nil || r.Reserves.Total != rp.Total {
					t.Fatalf("%s: reserves %+v", pass, r.Reserves)
				}
				continue
			}
			if r.UTXO == nil || r.UTXO.Outpoint != want[i] || r.UTXO.Unspent != (i%3 != 2) {
				t.Fatalf("%s: file %d: %+v", pass, i, r.UTXO)
			}
		}
	}
	check("first pass")
	// Heights 1 (the trusted one) and 8, 3, 5, 6, each once from the
	// primary and once from the primary as its own witness.
	for _, h := range []int64{1, 8, 3, 5, 6} {
		if primary.calls[h] != 2 {
			t.Errorf("height %d asked %d times, want 2: %v", h, primary.calls[h], primary.calls)
		}
	}

	// Refusals, each between two files that verify.
	other := fixtures[0].utxoProof(t, fixtures[0].ops[0])
	other.ChainID = "other-chain"
	tampered := cloneUTXO(t, files[0].UTXO)
	tampered.Coin.Value++
	for _, tc := range []struct {
		name string
		file *File
		want error
	}{
		{"other chain", &File{UTXO: other}, ErrChainID},
		{"tampered coin", &File{UTXO: tampered}, ErrProof},
		{"forged header", &File{UTXO: g.utxoProof(t, g.ops[0])}, ErrLightClient},
		{"no file", &File{}, ErrMalformed},
	} {
		_, err := v.Verify(ctx, tc.file, now)
		var e *Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if _, err := v.Verify(ctx, files[len(files)/2], now); err != nil {
			t.Fatalf("after %s: %v", tc.name, err)
		}
	}

	// Every header is known now: nothing more is asked, even from many
	// goroutines at once.
	asked := primary.total() - primary.calls[7]
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(files))
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range files {
				if _, err := v.Verify(ctx, f, now); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check("second pass")
	if got := primary.total() - primary.calls[7]; got != asked {
		t.Errorf("verified headers asked for again: %d light blocks, then %d", asked, got)
	}

	// A header is still refused when its height is past the chain's (the
	// provider has none), and the trust must hold at construction.
	if _, err := v.Header(ctx, 20, now); !errors.Is(err, ErrLightClient) {
		t.Errorf("height past the chain: %v", err)
	}
	bad := honest.trust()
	bad.Hash = make([]byte, 32)
	if _, err := NewVerifier(ctx, testChainID, bad, honest.provider(), nil); !errors.Is(err, ErrLightClient) {
		t.Errorf("wrong trusted hash: %v", err)
	}
	if _, err := NewVerifier(ctx, "", honest.trust(), honest.provider(), nil); !errors.Is(err, ErrLightClient) {
		t.Errorf("no chain id: %v", err)
	}
}
