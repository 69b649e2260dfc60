package utxo

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Core's VARINT bit patterns (serialize_tests.cpp varints_bitpatterns).
func TestVLQVectors(t *testing.T) {
	for _, c := range []struct {
		n   uint64
		hex string
	}{
		{0, "00"}, {0x7f, "7f"}, {0x80, "8000"}, {0x1234, "a334"}, {0xffff, "82fe7f"},
		{0x123456, "c7e756"}, {0x80123456, "86ffc7e756"}, {0xffffffff, "8efefefe7f"},
		{0x7fffffffffffffff, "fefefefefefefefe7f"}, {0xffffffffffffffff, "80fefefefefefefefe7f"},
	} {
		got := hex.EncodeToString(putVLQ(nil, c.n))
		if got != c.hex {
			t.Errorf("VARINT(%#x) = %s, want %s", c.n, got, c.hex)
		}
		if vlqSize(c.n) != len(got)/2 {
			t.Errorf("vlqSize(%#x) = %d", c.n, vlqSize(c.n))
		}
		raw, _ := hex.DecodeString(c.hex)
		v, n, err := readVLQ(raw)
		if err != nil || v != c.n || n != len(raw) {
			t.Errorf("readVLQ(%s) = %#x, %d, %v", c.hex, v, n, err)
		}
	}
	for _, bad := range []string{"", "80", "ff", "80fefefefefefefefeff00"} {
		raw, _ := hex.DecodeString(bad)
		if _, _, err := readVLQ(raw); err == nil {
			t.Errorf("readVLQ(%s) accepted", bad)
		}
	}
}

// Core's compress_tests.cpp amount vectors, and the round trip over many
// values.
func TestCompressAmount(t *testing.T) {
	const coin = 100_000_000
	for _, c := range []struct{ v, c uint64 }{
		{0, 0}, {1, 1}, {1_000_000, 7}, {coin, 9}, {50 * coin, 0x32}, {21_000_000 * coin, 0x1406f40},
	} {
		if got := compressAmount(c.v); got != c.c {
			t.Errorf("CompressAmount(%d) = %#x, want %#x", c.v, got, c.c)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		v := rng.Uint64N(MaxMoney + 1)
		if i%3 == 0 {
			v = v / 1000 * 1000
		}
		d, err := decompressAmount(compressAmount(v))
		if err != nil || uint64(d) != v {
			t.Fatalf("round trip of %d gave %d, %v", v, d, err)
		}
	}
	if _, err := decompressAmount(compressAmount(MaxMoney) + 10); err == nil {
		t.Error("amount above MaxMoney decoded")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestScriptCompression checks that every template compresses to its
// expected size and every script, template or not, round-trips.
func TestScriptCompression(t *testing.T) {
	satoshi := "410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac"
	offCurve := "4104" + "11db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c" + "b2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a4" + "ac"
	for _, c := range []struct {
		name   string
		script string
		size   int
	}{
		{"p2pkh", "76a914aa691c133d402a784a7a187178729b8494114f1588ac", 21},
		{"p2sh", "a9142c21151d54bd219dcc4c52e1cb38672dab8e36cc87", 21},
		{"p2pk compressed", "2102a2d6f30e2f42bfd1e2a6fe7a6a5a0e8f64d7a3e2e4f9f4b6c1d1a0f3b2c4d5e6ac", 33},
		{"p2pk uncompressed", satoshi, 33},
		{"p2pk off curve", offCurve, 1 + 67},
		{"p2wpkh", "00149a2fa3a4cb1dd88c3e1f4e0ba36b3c0ed3a3f0c1", 21},
		{"p2wsh", "0020" + "701a8d401c84fb13e6baf169d59684e17abd9fa216c8cc5b9fc63d622ff8c58d", 33},
		{"p2tr", "5120" + "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c", 33},
		{"empty", "", 1},
		{"op_true", "51", 2},
		{"op_return", "6a0401020304", 7},
		{"almost p2pkh", "76a914aa691c133d402a784a7a187178729b8494114f1588ad", 26},
		{"long", hex.EncodeToString(bytes.Repeat([]byte{0x51}, 300)), 302},
	} {
		s := mustHex(t, c.script)
		enc := putCompressedScript(nil, s)
		if len(enc) != c.size || compressedScriptSize(s) != c.size {
			t.Errorf("%s: %d bytes (size func %d), want %d", c.name, len(enc), compressedScriptSize(s), c.size)
		}
		dec, n, err := readCompressedScript(enc)
		if err != nil || n != len(enc) || !bytes.Equal(dec, s) {
			t.Errorf("%s: round trip gave %x, %d, %v", c.name, dec, n, err)
		}
	}
}

// TestCoinRoundTrip round-trips random coins through the stored encoding.
func TestCoinRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		script := make([]byte, rng.IntN(60))
		for j := range script {
			script[j] = byte(rng.IntN(256))
		}
		c := Coin{Value: rng.Int64N(MaxMoney + 1), Script: script, Height: rng.Int32N(1 << 30), Coinbase: rng.IntN(2) == 0}
		enc := EncodeCoin(&c)
		if len(enc) != coinSize(&c) {
			t.Fatalf("coinSize %d, encoded %d", coinSize(&c), len(enc))
		}
		d, err := DecodeCoin(enc)
		if err != nil || d.Value != c.Value || d.Height != c.Height || d.Coinbase != c.Coinbase || !bytes.Equal(d.Script, c.Script) {
			t.Fatalf("round trip of %+v gave %+v, %v", c, d, err)
		}
		if _, err := DecodeCoin(append(enc, 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	r := &BlockRecord{Hash: chainhash.Hash{1, 2}, MuHash: [32]byte{3},
		Totals: SetTotals{TxOuts: 5, BogoSize: 300, TotalAmount: 1 << 40, TotalSubsidy: 2, TotalUnspendable: -3,
			UnspendableUnclaimed: 7},
		Stats: BlockStats{Height: 9, Hash: chainhash.Hash{1, 2}, Time: 1231006505, Size: 285, Weight: 1140, Txs: 1,
			Inputs: 2, Outputs: 3, SetAdded: 4, SetSpent: 5, InAmount: 6, OutAmount: 7, CoinbaseAmount: 8, Fees: 9,
			Subsidy: 10, CoinDaysDestroyed: U128{1, 2}}}
	got, err := decodeBlockRecord(9, r.encode())
	if err != nil || *got != *r {
		t.Fatalf("block record round trip: %+v, %v", got, err)
	}
	s := &State{Network: "mainnet", HasTip: true, TipHeight: 14131, TipHash: chainhash.Hash{9}, BaseHeight: 3, NonBIP34Height: 1}
	s.MuHash[0] = 1
	gs, err := decodeState(s.encode())
	if err != nil || *gs != *s {
		t.Fatalf("state round trip: %+v, %v", gs, err)
	}
	a := AddrStats{FundedCount: 3, FundedSum: 300, SpentCount: 1, SpentSum: 100, TxCount: 3}
	ga, err := decodeAddrStats(a.encode())
	if err != nil || ga != a {
		t.Fatalf("addr stats round trip: %+v, %v", ga, err)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	op := Outpoint{Hash: chainhash.Hash{0xaa}, Index: 300}
	sh := [32]byte{0xbb}
	for _, c := range []struct {
		key  []byte
		want string
	}{
		{appendCoinKey(nil, &op), "coin " + op.String()},
		{appendAddrUTXOKey(nil, &sh, &op), "scripthash-utxo bb00000000000000000000000000000000000000000000000000000000000000 " + op.String()},
		{addrStatsKey(&sh), "scripthash-stats bb00000000000000000000000000000000000000000000000000000000000000"},
		{heightKey(tagHeader, 7), "header 7"},
		{heightKey(tagBlock, 7), "block 7"},
		{heightKey(tagUndo, 7), "undo 7"},
		{hashHeightKey(&op.Hash), "hash-height " + op.Hash.String()},
		{stateKey(), "meta state"},
	} {
		k, err := ParseKey(c.key)
		if err != nil || k.String() != c.want {
			t.Errorf("ParseKey(%x) = %q, %v; want %q", c.key, k, err, c.want)
		}
	}
}

// Every error code has a name: logs and ABCI error strings rely on it.
func TestErrorCodeNames(t *testing.T) {
	for c := ErrorCode(1); c < numErrorCodes; c++ {
		if s := c.String(); strings.HasPrefix(s, "ErrorCode(") {
			t.Errorf("code %d has no name (%q)", int(c), s)
		}
	}
}

func TestAppendCompactSize(t *testing.T) {
	for _, n := range []uint64{0, 1, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffff, 0x100000000, ^uint64(0)} {
		var buf bytes.Buffer
		_ = wire.WriteVarInt(&buf, 0, n)
		if got := appendCompactSize(nil, n); !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("CompactSize(%d) = %x, want %x", n, got, buf.Bytes())
		}
	}
}

// BIP34 pushes as Core builds them (CScript() << nHeight).
func TestBIP34Push(t *testing.T) {
	for _, c := range []struct {
		height int32
		hex    string
	}{
		{1, "51"}, {16, "60"}, {17, "0111"}, {127, "017f"}, {128, "028000"}, {255, "02ff00"},
		{256, "020001"}, {227931, "035b7a03"}, {8388608, "0400008000"},
	} {
		script := mustHex(t, c.hex+"deadbeef")
		if !hasBIP34Push(script, c.height) {
			t.Errorf("height %d: %s not recognized", c.height, c.hex)
		}
		if hasBIP34Push(script, c.height+1) {
			t.Errorf("height %d: %s accepted for %d", c.height, c.hex, c.height+1)
		}
	}
}
