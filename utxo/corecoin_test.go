package utxo_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/satnode/satnode/utxo"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worked example of corecoin.go: the first coin of
// testdata/mainnet/utxo-mainnet-14131.dat.
func TestCoreCoinWorkedExample(t *testing.T) {
	x := "ba3f89b5b9a9d3e8ccc43a0cf45a8dcb4664d84433763a3d968e79d7f98d33de"
	b := mustHex(t, "9e6f"+"32"+"04"+x)
	c, n, err := utxo.DecodeCoreCoin(append(bytes.Clone(b), 0xaa)) // a byte of the next record
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b) || c.Height != 2039 || !c.Coinbase || c.Value != 50_0000_0000 {
		t.Fatalf("%d bytes: %+v", n, c)
	}
	if len(c.Script) != 67 || c.Script[0] != 65 || c.Script[1] != 4 || hex.EncodeToString(c.Script[2:34]) != x ||
		c.Script[65]&1 != 0 || c.Script[66] != 0xac {
		t.Fatalf("script %x", c.Script)
	}
	if got := utxo.AppendCoreCoin(nil, &c); !bytes.Equal(got, b) {
		t.Fatalf("re-encoded %x, want %x", got, b)
	}
}

// Core has six script templates; everything else, segwit included, is
// stored raw as VARINT(len+6) ‖ script.
func TestCoreCoinScripts(t *testing.T) {
	h20 := bytes.Repeat([]byte{0x11}, 20)
	h32 := bytes.Repeat([]byte{0x22}, 32)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	long := bytes.Repeat([]byte{0x51}, 200)
	for _, tc := range []struct {
		name   string
		script []byte
		want   []byte // the script part of the encoding
	}{
		{"P2PKH", cat([]byte{0x76, 0xa9, 20}, h20, []byte{0x88, 0xac}), cat([]byte{0}, h20)},
		{"P2SH", cat([]byte{0xa9, 20}, h20, []byte{0x87}), cat([]byte{1}, h20)},
		{"P2PK 02", cat([]byte{33, 2}, h32, []byte{0xac}), cat([]byte{2}, h32)},
		{"P2PK 03", cat([]byte{33, 3}, h32, []byte{0xac}), cat([]byte{3}, h32)},
		{"P2WPKH", cat([]byte{0, 20}, h20), cat([]byte{22 + 6, 0, 20}, h20)},
		{"P2WSH", cat([]byte{0, 32}, h32), cat([]byte{34 + 6, 0, 32}, h32)},
		{"P2TR", cat([]byte{0x51, 32}, h32), cat([]byte{34 + 6, 0x51, 32}, h32)},
		{"empty", []byte{}, []byte{6}},
		{"200 bytes", long, cat([]byte{0x80, 206 - 128}, long)},
		{"uncompressed key off the curve", cat([]byte{65, 4}, h32, h32, []byte{0xac}), cat([]byte{67 + 6, 65, 4}, h32, h32, []byte{0xac})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := utxo.Coin{Value: 1, Height: 1, Script: tc.script}
			b := utxo.AppendCoreCoin(nil, &c)
			if !bytes.Equal(b[2:], tc.want) {
				t.Fatalf("encoded %x, want 0201%x", b, tc.want)
			}
			back, n, err := utxo.DecodeCoreCoin(b)
			if err != nil || n != len(b) || !bytes.Equal(back.Script, tc.script) {
				t.Fatalf("decoded %x (%d bytes, %v)", back.Script, n, err)
			}
			// Every proper prefix is truncated, not malformed.
			for i := range len(b) {
				if _, _, err := utxo.DecodeCoreCoin(b[:i]); !errors.Is(err, utxo.ErrCoreTruncated) {
					t.Fatalf("prefix of %d bytes: %v", i, err)
				}
			}
		})
	}
}

func TestCoreCoinRefuses(t *testing.T) {
	p2pkh := append(append([]byte{0x76, 0xa9, 20}, make([]byte, 20)...), 0x88, 0xac)
	ff := bytes.Repeat([]byte{0xff}, 32) // x >= p: no point
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"height code over 32 bits", []byte{0x8f, 0xff, 0xff, 0xff, 0x7f, 0, 0}, utxo.ErrCoreHeight},
		{"height VARINT overflow", bytes.Repeat([]byte{0xff}, 12), utxo.ErrCoreHeight},
		{"amount above 21M BTC", utxo.AppendCoreCoin(nil, &utxo.Coin{Value: utxo.MaxMoney + 1e9, Script: p2pkh}), utxo.ErrCoreAmount},
		{"uncompressed key kind 4, x >= p", append([]byte{0, 0, 4}, ff...), utxo.ErrCorePubKey},
		{"uncompressed key kind 5, x >= p", append([]byte{0, 0, 5}, ff...), utxo.ErrCorePubKey},
		{"raw script of 10,001 bytes", append([]byte{0, 0, 0xcd, 0x17}, make([]byte, 10_001)...), utxo.ErrCoreScriptSize},
		{"raw P2PKH", append([]byte{0, 0, 25 + 6}, p2pkh...), utxo.ErrCoreNonCanonical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := utxo.DecodeCoreCoin(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A compressed P2PK is never checked, by Core either: x >= p is a
	// valid kind 2 coin.
	if c, _, err := utxo.DecodeCoreCoin(append([]byte{0, 0, 2}, ff...)); err != nil || len(c.Script) != 35 {
		t.Fatalf("kind 2 with x >= p: %v", err)
	}
	// The largest raw script is 10,000 bytes.
	b := append([]byte{0, 0, 0xcd, 0x16}, bytes.Repeat([]byte{0x51}, 10_000)...)
	if c, n, err := utxo.DecodeCoreCoin(b); err != nil || n != len(b) || len(c.Script) != 10_000 || n > utxo.MaxCoreCoinSize {
		t.Fatalf("10,000-byte script: %v", err)
	}
}

// Core's key order is numeric up to vout 16,511 only.
func TestCompareCoreOrder(t *testing.T) {
	op := func(txid byte, vout uint32) *utxo.Outpoint {
		o := &utxo.Outpoint{Index: vout}
		o.Hash[0] = txid
		return o
	}
	for _, tc := range []struct {
		a, b *utxo.Outpoint
		want int
	}{
		{op(1, 0), op(1, 0), 0},
		{op(1, 0), op(1, 1), -1},
		{op(1, 127), op(1, 128), -1},
		{op(1, 255), op(1, 256), -1},
		{op(1, 256), op(1, 16511), -1},
		{op(1, 16511), op(1, 16512), 1}, // ff 7f > 80 80 00
		{op(1, 16512), op(1, 256), -1},  // 80 80 00 < 81 00
		{op(1, 16512), op(1, 255), 1},   // 80 80 00 > 80 7f
		{op(1, 300000), op(2, 0), -1},
		{op(2, 0), op(1, 5), 1},
	} {
		if got := utxo.CompareCoreOrder(tc.a, tc.b); got != tc.want {
			t.Errorf("%s vs %s: %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
