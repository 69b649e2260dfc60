package verify

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

type testAddr struct {
	addr    string
	script  []byte
	network string // what VerifyReserves reports: the first network it decodes on
	coins   int
}

func testAddresses(t testing.TB) []testAddr {
	h20, h32 := bytes.Repeat([]byte{0x21}, 20), bytes.Repeat([]byte{0x43}, 32)
	mk := func(a btcutil.Address, err error, network string, coins int) testAddr {
		if err != nil {
			t.Fatal(err)
		}
		script, err := txscript.PayToAddrScript(a)
		if err != nil {
			t.Fatal(err)
		}
		return testAddr{addr: a.EncodeAddress(), script: script, network: network, coins: coins}
	}
	wpkh, err := btcutil.NewAddressWitnessPubKeyHash(h20, &chaincfg.MainNetParams)
	pkh, err2 := btcutil.NewAddressPubKeyHash(h20, &chaincfg.MainNetParams)
	tr, err3 := btcutil.NewAddressTaproot(h32, &chaincfg.MainNetParams)
	wsh, err4 := btcutil.NewAddressWitnessScriptHash(h32, &chaincfg.TestNet3Params)
	sh, err5 := btcutil.NewAddressScriptHashFromHash(h20, &chaincfg.RegressionNetParams)
	rt, err6 := btcutil.NewAddressWitnessPubKeyHash(h32[:20], &chaincfg.RegressionNetParams)
	return []testAddr{
		mk(wpkh, err, "mainnet", 3),
		mk(pkh, err2, "mainnet", 2),
		mk(tr, err3, "mainnet", 1),
		mk(wsh, err4, "testnet3", 2),
		mk(sh, err5, "testnet3", 1), // regtest's base58 versions are testnet's
		mk(rt, err6, "regtest", 0),
	}
}

// reservesFixture is a set holding coins of testAddresses among random
// ones, and the honest reserves proof for them.
func reservesFixture(t testing.TB) (*fixture, *ReservesProof, []testAddr) {
	addrs := testAddresses(t)
	rng := rand.New(rand.NewPCG(10, 10))
	extra := make(map[Outpoint]Coin)
	owned := make([][]Outpoint, len(addrs))
	for i, a := range addrs {
		for j := 0; j < a.coins; j++ {
			op := randOutpoint(rng)
			extra[op] = Coin{Value: rng.Int64N(1e9) + 1, ScriptPubKey: a.script, Height: rng.Int32N(900000), Coinbase: j == 1}
			owned[i] = append(owned[i], op)
		}
	}
	f := newFixture(t, 10, 200, extra)
	p := &ReservesProof{Kind: KindReserves, State: f.state(t)}
	for i, a := range addrs {
		ac := AddressCoins{Address: a.addr, ScriptPubKey: a.script, Coins: []CoinProof{}}
		for _, op := range owned[i] {
			c := f.coins[op]
			ac.Coins = append(ac.Coins, CoinProof{Outpoint: op, Coin: c, Proof: mustEncode(t, f.tree.member(f.tree.index(op.Key())))})
			p.Total += c.Value
		}
		p.Addresses = append(p.Addresses, ac)
	}
	return f, p, addrs
}

func cloneReserves(t testing.TB, p *ReservesProof) *ReservesProof {
	t.Helper()
	q, err := DecodeReservesProof(bytes.NewReader(mustJSON(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestVerifyReserves(t *testing.T) {
	f, p, addrs := reservesFixture(t)
	file, err := DecodeFile(bytes.NewReader(mustJSON(t, p)))
	if err != nil || file.Reserves == nil {
		t.Fatalf("decode: %v", err)
	}
	r, err := VerifyReserves(file.Reserves, f.appHash[:])
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != p.Total || !r.Complete || r.Bitcoin != f.c.tip || len(r.Addresses) != len(addrs) {
		t.Fatalf("result %+v", r)
	}
	coins := 0
	for i, a := range r.Addresses {
		var sum int64
		for _, c := range p.Addresses[i].Coins {
			sum += c.Coin.Value
		}
		if a.Address != addrs[i].addr || a.Network != addrs[i].network || a.Coins != addrs[i].coins || a.Value != sum ||
			!bytes.Equal(a.ScriptPubKey, addrs[i].script) {
			t.Errorf("address %d: %+v, want %+v with %d sat", i, a, addrs[i], sum)
		}
		coins += a.Coins
	}
	if r.Coins != coins {
		t.Errorf("%d coins, want %d", r.Coins, coins)
	}

	q := cloneReserves(t, p)
	q.Addresses[0].Next = "cursor"
	if r, err := VerifyReserves(q, f.appHash[:]); err != nil || r.Complete || r.Addresses[0].Next != "cursor" {
		t.Errorf("paged: %+v, %v", r, err)
	}
	empty := &ReservesProof{Kind: KindReserves, State: f.state(t)}
	if r, err := VerifyReserves(empty, f.appHash[:]); err != nil || r.Total != 0 {
		t.Errorf("no addresses: %+v, %v", r, err)
	}
}

func TestVerifyReservesTamper(t *testing.T) {
	f, p, addrs := reservesFixture(t)
	other := newFixture(t, 11, 10, nil)
	for _, m := range []struct {
		name string
		f    func(p *ReservesProof)
		want error
	}{
		{"total+1", func(p *ReservesProof) { p.Total++ }, ErrTotal},
		{"total-1", func(p *ReservesProof) { p.Total-- }, ErrTotal},
		{"same coin twice", func(p *ReservesProof) {
			a := &p.Addresses[0]
			a.Coins = append(a.Coins, a.Coins[0])
			p.Total += a.Coins[0].Coin.Value
		}, ErrDuplicate},
		{"same coin under two addresses", func(p *ReservesProof) {
			c := p.Addresses[0].Coins[0]
			p.Addresses[1].Coins = append(p.Addresses[1].Coins, c)
			p.Total += c.Coin.Value
		}, ErrDuplicate},
		{"another address's coin", func(p *ReservesProof) {
			c := p.Addresses[1].Coins[0]
			p.Addresses[1].Coins = p.Addresses[1].Coins[1:]
			p.Addresses[0].Coins = append(p.Addresses[0].Coins, c)
		}, ErrScript},
		{"another address's coin, script rewritten", func(p *ReservesProof) {
			c := p.Addresses[1].Coins[0]
			c.Coin.ScriptPubKey = p.Addresses[0].ScriptPubKey
			p.Addresses[1].Coins = p.Addresses[1].Coins[1:]
			p.Addresses[0].Coins = append(p.Addresses[0].Coins, c)
		}, ErrProof},
		{"script_pubkey of another address", func(p *ReservesProof) {
			p.Addresses[0].ScriptPubKey = p.Addresses[1].ScriptPubKey
		}, ErrAddress},
		{"undecodable address", func(p *ReservesProof) { p.Addresses[0].Address = "bc1qnotanaddress" }, ErrAddress},
		{"huge address", func(p *ReservesProof) { p.Addresses[0].Address = strings.Repeat("1", 100000) }, ErrAddress},
		{"address twice", func(p *ReservesProof) {
			p.Addresses = append(p.Addresses, AddressCoins{Address: addrs[0].addr, ScriptPubKey: addrs[0].script})
		}, ErrDuplicate},
		{"address twice, upper case", func(p *ReservesProof) {
			p.Addresses = append(p.Addresses, AddressCoins{Address: strings.ToUpper(addrs[0].addr), ScriptPubKey: addrs[0].script})
		}, ErrDuplicate},
		{"same script, another network", func(p *ReservesProof) {
			a, err := btcutil.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{0x21}, 20), &chaincfg.RegressionNetParams)
			if err != nil {
				t.Fatal(err)
			}
			p.Addresses = append(p.Addresses, AddressCoins{Address: a.EncodeAddress(), ScriptPubKey: addrs[0].script})
		}, ErrDuplicate},
		{"invented coin", func(p *ReservesProof) {
			c := p.Addresses[0].Coins[0]
			c.Outpoint.Vout += 100
			p.Addresses[0].Coins = append(p.Addresses[0].Coins, c)
			p.Total += c.Coin.Value
		}, ErrProof},
		{"value+1", func(p *ReservesProof) { p.Addresses[0].Coins[0].Coin.Value++; p.Total++ }, ErrProof},
		{"negative value", func(p *ReservesProof) { p.Addresses[0].Coins[0].Coin.Value = -1 }, ErrMalformed},
		{"another state's app hash", func(p *ReservesProof) { p.AppHash = other.appHash[:] }, ErrAppHash},
		{"kind", func(p *ReservesProof) { p.Kind = KindUTXO }, ErrMalformed},
	} {
		q := cloneReserves(t, p)
		m.f(q)
		if _, err := VerifyReserves(q, f.appHash[:]); !errors.Is(err, m.want) {
			t.Errorf("%s: %v, want %v", m.name, err, m.want)
		}
	}

	q := cloneReserves(t, p)
	b := q.Addresses[3].Coins[1].Proof
	for i := range b {
		b[i] ^= 0x80
		if _, err := VerifyReserves(q, f.appHash[:]); err == nil {
			t.Fatalf("coin proof byte %d flipped: accepted", i)
		}
		b[i] ^= 0x80
	}
	if _, err := VerifyReserves(q, f.appHash[:]); err != nil {
		t.Fatal(err)
	}
}

func TestAdd(t *testing.T) {
	const maxInt64 = 1<<63 - 1
	for _, c := range []struct {
		a, b int64
		ok   bool
	}{{1, 2, true}, {maxInt64, 0, true}, {maxInt64, 1, false}, {maxInt64 - 5, 6, false}, {-1, 1, false}, {1, -1, false}} {
		if s, ok := add(c.a, c.b); ok != c.ok || (ok && s != c.a+c.b) {
			t.Errorf("add(%d, %d) = %d, %v", c.a, c.b, s, ok)
		}
	}
}
