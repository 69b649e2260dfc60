package coresnap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/muhash"
)

// The snapshot fixtures (testdata/mainnet/README.md).
const (
	file14131  = "utxo-mainnet-14131.dat"
	file367890 = "utxo-mainnet-367890-spent-by-367891.dat"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mainnet", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type snapCoin struct {
	op utxo.Outpoint
	c  utxo.Coin
}

// readAll reads a whole snapshot; it returns the coins read before any
// error, and the error (nil at a clean end).
func readAll(b []byte, net Network, base int32) (Meta, []snapCoin, error) {
	r, err := NewReader(bytes.NewReader(b), net, base)
	if err != nil {
		return Meta{}, nil, err
	}
	var coins []snapCoin
	for {
		op, c, err := r.Next()
		if err == io.EOF {
			return r.Meta(), coins, nil
		}
		if err != nil {
			return r.Meta(), coins, err
		}
		coins = append(coins, snapCoin{op, c})
	}
}

// writeAll writes coins with a Writer into a byte slice.
func writeAll(meta Meta, coins []snapCoin) ([]byte, error) {
	var buf bytes.Buffer
	w := NewWriter(&buf, meta)
	for _, sc := range coins {
		if err := w.Write(sc.op, sc.c); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// setDigest is the MuHash of coins, hashed the way the engine hashes a
// coin.
func setDigest(coins []snapCoin) muhash.Digest {
	m := muhash.New()
	var buf []byte
	for i := range coins {
		buf = utxo.AppendMuHashElement(buf[:0], &coins[i].op, &coins[i].c)
		m.Insert(buf)
	}
	return m.Finalize()
}

// wantCode fails unless err is an *Error with the given code, and returns
// it.
func wantCode(t *testing.T, err error, code ErrorCode) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a coresnap.Error %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
	return e
}

// Hand-made files, for what real files never contain.

type rawCoin struct {
	vout    uint64
	voutEnc []byte // overrides the CompactSize of vout, if set
	coin    []byte // Core's coin serialization
}

type rawGroup struct {
	txid  chainhash.Hash
	n     int // overrides the coin count, if >= 0
	coins []rawCoin
}

func group(txid byte, coins ...rawCoin) rawGroup {
	var h chainhash.Hash
	h[0] = txid
	return rawGroup{txid: h, n: -1, coins: coins}
}

func rawFile(count uint64, groups ...rawGroup) []byte {
	m := Meta{Network: MainNet, Count: count}
	m.BaseHash[0] = 0xbb
	b := m.appendHeader(nil)
	for _, g := range groups {
		b = append(b, g.txid[:]...)
		n := uint64(len(g.coins))
		if g.n >= 0 {
			n = uint64(g.n)
		}
		b = utxo.AppendCompactSize(b, n)
		for _, c := range g.coins {
			if c.voutEnc != nil {
				b = append(b, c.voutEnc...)
			} else {
				b = utxo.AppendCompactSize(b, c.vout)
			}
			b = append(b, c.coin...)
		}
	}
	return b
}

func p2pkh(fill byte) []byte {
	s := []byte{0x76, 0xa9, 20}
	s = append(s, bytes.Repeat([]byte{fill}, 20)...)
	return append(s, 0x88, 0xac)
}

func enc(value int64, height int32, script []byte) []byte {
	return utxo.AppendCoreCoin(nil, &utxo.Coin{Value: value, Height: height, Script: script})
}

func coinAt(vout uint64, value int64) rawCoin {
	return rawCoin{vout: vout, coin: enc(value, 100, p2pkh(byte(vout)))}
}
