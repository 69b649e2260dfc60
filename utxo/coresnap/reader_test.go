package coresnap

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"

	"github.com/satnode/satnode/utxo"
)

// The fixtures read to the end give the values Core's gettxoutsetinfo
// muhash gives for the same set (testdata/mainnet/README.md).
func TestReadFixtures(t *testing.T) {
	for _, tc := range []struct {
		file     string
		base     int32
		baseHash string
		count    int
		total    int64
		muhash   string
	}{
		{file14131, 14131, "00000000b3e750f3", 13416, 706_550_0000_0000,
			"859e27f17a6cce9768b75dd0dbd969890157d29a152b0f4a0afa6c67cbcd5975"},
		{file367890, 367890, "00000000000000000a228622", 20798, 1_096_6631_0051,
			"5675cc6793a805228f9ce3dfc3f2df095ba6af438b5672cd5cc51f901e422be8"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := fixture(t, tc.file)
			r, err := NewReader(bytes.NewReader(b), MainNet, tc.base)
			if err != nil {
				t.Fatal(err)
			}
			m := r.Meta()
			if m.Network != MainNet || m.Count != uint64(tc.count) || m.BaseHash.String()[:len(tc.baseHash)] != tc.baseHash {
				t.Fatalf("meta %v %s %d", m.Network, m.BaseHash, m.Count)
			}
			var coins []snapCoin
			var total int64
			var maxHeight int32
			for {
				op, c, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				coins = append(coins, snapCoin{op, c})
				total += c.Value
				maxHeight = max(maxHeight, c.Height)
			}
			if len(coins) != tc.count || r.CoinsRead() != uint64(tc.count) {
				t.Errorf("read %d coins, want %d", len(coins), tc.count)
			}
			if r.Offset() != int64(len(b)) {
				t.Errorf("offset %d at the end of a %d-byte file", r.Offset(), len(b))
			}
			if total != tc.total {
				t.Errorf("total %d sat, want %d", total, tc.total)
			}
			if maxHeight > tc.base {
				t.Errorf("a coin at %d above the base", maxHeight)
			}
			if d := setDigest(coins).String(); d != tc.muhash {
				t.Errorf("muhash %s, want %s", d, tc.muhash)
			}
			// The end is sticky.
			if _, _, err := r.Next(); err != io.EOF {
				t.Errorf("after the end: %v", err)
			}
		})
	}
}

// The worked examples of network.go, reader.go and utxo/corecoin.go are the
// first bytes of the 14131 fixture.
func TestWorkedExample(t *testing.T) {
	b := fixture(t, file14131)
	want := "7574786fff" + "0200" + "f9beb4d9" +
		"1c0a4372a09095360b133b396d544bf4a9998701e142db7ff350e7b300000000" +
		"6834000000000000" +
		"0009e17f0845e519907e1e0eec90df3f9dc2783400a705f556d1e5e182ca464b" +
		"01" + "00" + "9e6f" + "32" + "04" +
		"ba3f89b5b9a9d3e8ccc43a0cf45a8dcb4664d84433763a3d968e79d7f98d33de"
	if got := hex.EncodeToString(b[:len(want)/2]); got != want {
		t.Fatalf("first bytes\n got %s\nwant %s", got, want)
	}
	r, err := NewReader(bytes.NewReader(b), MainNet, 14131)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Meta().BaseHash.String(); h != "00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c" {
		t.Fatalf("base %s", h)
	}
	op, c, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if op.Index != 0 || op.Hash.String() != "4b46ca82e1e5d156f505a7003478c29d3fdf90ec0e1e7e9019e545087fe10900" || c.Height != 2039 || !c.Coinbase ||
		c.Value != 50_0000_0000 || len(c.Script) != 67 || c.Script[0] != 65 || c.Script[1] != 4 || c.Script[66] != 0xac ||
		c.Script[65]&1 != 0 {
		t.Fatalf("first coin %s %+v", op, c)
	}
	if r.Offset() != int64(len(want)/2) {
		t.Fatalf("offset %d after the first coin, want %d", r.Offset(), len(want)/2)
	}
}

// Core's dumps order the vouts of a txid by their VARINT bytes, not by
// value: 16512 (80 80 00) before 256 (81 00).
func TestVoutOrderIsCoreKeyOrder(t *testing.T) {
	coreOrder := rawFile(4, group(1, coinAt(0, 1), coinAt(255, 2), coinAt(16512, 3), coinAt(256, 4)))
	_, coins, err := readAll(coreOrder, MainNet, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var vouts []uint32
	for _, sc := range coins {
		vouts = append(vouts, sc.op.Index)
	}
	if len(vouts) != 4 || vouts[2] != 16512 || vouts[3] != 256 {
		t.Fatalf("vouts %v", vouts)
	}
	numeric := rawFile(4, group(1, coinAt(0, 1), coinAt(255, 2), coinAt(256, 4), coinAt(16512, 3)))
	_, _, err = readAll(numeric, MainNet, 1000)
	wantCode(t, err, ErrOutOfOrder)
}

// An empty set is a header and nothing else.
func TestEmptySnapshot(t *testing.T) {
	m := Meta{Network: RegTest, Count: 0}
	b := m.appendHeader(nil)
	got, coins, err := readAll(b, RegTest, 0)
	if err != nil || len(coins) != 0 || got != m {
		t.Fatalf("%v %d %+v", err, len(coins), got)
	}
	w, err := writeAll(m, nil)
	if err != nil || !bytes.Equal(w, b) {
		t.Fatalf("%v %x", err, w)
	}
}

// Scripts Core does not compress (segwit, bare multisig, empty) are stored
// raw, and a compressed P2PK whose x is not on the curve is stored and
// read as Core does (Core checks compressed keys neither way).
func TestScriptsCoreStoresRaw(t *testing.T) {
	p2wpkh := append([]byte{0x00, 20}, bytes.Repeat([]byte{7}, 20)...)
	p2tr := append([]byte{0x51, 32}, bytes.Repeat([]byte{8}, 32)...)
	badX := append(append([]byte{33, 0x02}, bytes.Repeat([]byte{0xff}, 32)...), 0xac)
	coins := []snapCoin{}
	for i, s := range [][]byte{p2wpkh, p2tr, {}, badX, {0x6a, 0x01, 0x02}} {
		coins = append(coins, snapCoin{utxo.Outpoint{Index: uint32(i)}, utxo.Coin{Value: int64(i), Height: 5, Script: s}})
	}
	coins[0].op.Hash[0] = 9
	for i := range coins {
		coins[i].op.Hash = coins[0].op.Hash
	}
	m := Meta{Network: MainNet, Count: uint64(len(coins))}
	b, err := writeAll(m, coins)
	if err != nil {
		t.Fatal(err)
	}
	// P2WPKH: VARINT(22+6) = 1c, then the script as is.
	if i := bytes.Index(b, append([]byte{0x1c}, p2wpkh...)); i < 0 {
		t.Fatalf("P2WPKH not stored raw: %x", b)
	}
	_, back, err := readAll(b, MainNet, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range coins {
		if back[i].op != coins[i].op || !bytes.Equal(back[i].c.Script, coins[i].c.Script) || back[i].c.Value != coins[i].c.Value {
			t.Errorf("coin %d: %+v, want %+v", i, back[i], coins[i])
		}
	}
}
