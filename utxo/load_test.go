package utxo_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/muhash"
)

// TestLoadStateWorkedExample checks the loading marker's worked example in
// load.go, with the accumulator of the empty set (1, little-endian).
func TestLoadStateWorkedExample(t *testing.T) {
	l := &utxo.LoadState{
		Network: "regtest", BaseHeight: 110, BaseHash: chainhash.Hash(bytes.Repeat([]byte{0x0f}, 32)),
		ExpectedCoins: 1000, Chunks: 2,
		Last:  utxo.Outpoint{Hash: chainhash.Hash(bytes.Repeat([]byte{0x01}, 32)), Index: 3},
		Coins: 600, BogoSize: 43200, Amount: 300_000_000, Phase: utxo.LoadCoins,
	}
	one := muhash.One()
	l.MuHash = one.Bytes()
	want := unhex(t, `534e4c44 02
		07 72656774657374
		0000006e 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
		8668
		02
		0101010101010101010101010101010101010101010101010101010101010101 00000003
		8358 81d040 808e85c500`)
	want = append(want, l.MuHash[:]...)
	want = append(want, 0x01, 0x00, 0x00)
	want = append(want, make([]byte, 32)...)
	got := utxo.EncodeLoadState(l)
	if !bytes.Equal(got, want) {
		t.Fatalf("marker\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(want))
	}
}
