package snapgen

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
)

// TestWriteReadsBack: a generated file is a valid snapshot (the Reader
// checks Core's order, ranges and encodings coin by coin), holds the
// coins the generator produced, and is the same bytes for the same Config
// and other bytes for another seed.
func TestWriteReadsBack(t *testing.T) {
	cfg := Config{Network: coresnap.RegTest, Height: 5000, Coins: 100_000, Seed: 7}
	var buf bytes.Buffer
	sum, err := Write(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := coresnap.NewReader(bytes.NewReader(buf.Bytes()), coresnap.RegTest, cfg.Height)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := New(cfg)
	var n uint64
	var amount int64
	for {
		op, c, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("coin %d: %v", n, err)
		}
		wop, wc, ok := g.Next()
		if !ok || op != wop || c.Value != wc.Value || c.Height != wc.Height || c.Coinbase != wc.Coinbase ||
			!bytes.Equal(c.Script, wc.Script) {
			t.Fatalf("coin %d: read %v %+v, generated %v %+v", n, op, c, wop, wc)
		}
		if utxo.IsUnspendable(c.Script) {
			t.Fatalf("coin %d is unspendable", n)
		}
		n++
		amount += c.Value
	}
	if n != cfg.Coins || n != sum.Coins || amount != sum.Amount {
		t.Fatalf("read %d coins worth %d, summary %+v", n, amount, sum)
	}
	for ty, c := range sum.ByType {
		if c == 0 {
			t.Errorf("no %s coin among %d", scriptType(ty), n)
		}
	}
	if sum.MaxHeight > cfg.Height || sum.Coinbase == 0 {
		t.Errorf("summary %+v", sum)
	}

	again := sha256.New()
	if _, err := Write(again, cfg); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(buf.Bytes()) != [32]byte(again.Sum(nil)) {
		t.Fatal("the same config wrote other bytes")
	}
	cfg.Seed++
	other := sha256.New()
	if _, err := Write(other, cfg); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(buf.Bytes()) == [32]byte(other.Sum(nil)) {
		t.Fatal("another seed wrote the same bytes")
	}
	t.Logf("%d bytes, %.1f per coin\n%s", buf.Len(), float64(buf.Len())/float64(n), sum.String())
}

// TestMix prints the shares at the reference height, for the comparison
// in mix.go, and checks the broad shape.
func TestMix(t *testing.T) {
	coins := uint64(1_000_000)
	if testing.Short() {
		coins = 200_000
	}
	sum, err := Write(io.Discard, Config{Network: coresnap.MainNet, Height: refHeight, Coins: coins, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	share := func(ty scriptType) float64 { return float64(sum.ByType[ty]) / float64(sum.Coins) }
	if share(p2wpkh) < 0.25 || share(p2tr) < 0.2 || share(p2pkh) < 0.1 || share(p2pk)+share(p2pkUncmp) > 0.01 ||
		share(multisig) == 0 || share(multisig) > 0.01 {
		t.Errorf("mix out of shape:\n%s", sum.String())
	}
	t.Logf("\n%s", sum.String())
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{
		{Height: 10, Coins: 1},
		{Network: coresnap.RegTest, Height: -1, Coins: 1},
		{Network: coresnap.RegTest, Height: 10},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
