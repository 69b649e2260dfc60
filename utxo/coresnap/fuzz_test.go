package coresnap

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReader: no input makes the Reader panic, and whatever it reads to
// the end, the Writer writes back identically (the decoding is one-to-one).
func FuzzReader(f *testing.F) {
	good := fixture(f, file14131)
	_, coins, err := readAll(good, MainNet, 14131)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: small valid files cut from the fixture (kinds 0-5, raw
	// scripts, several coins per txid), hand-made ones, and bad ones.
	for _, n := range []int{0, 1, 3, 8} {
		m := Meta{Network: MainNet, Count: uint64(n)}
		b, err := writeAll(m, coins[len(coins)-n:])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(rawFile(4, group(1, coinAt(0, 1), coinAt(255, 2), coinAt(16512, 3), coinAt(256, 4))))
	f.Add(good[:200])
	f.Add(rawFile(2, group(1, coinAt(3, 1), coinAt(3, 1))))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), MainNet, 1_000_000)
		if err != nil {
			return
		}
		var got []snapCoin
		for {
			op, c, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			got = append(got, snapCoin{op, c})
		}
		w, err := writeAll(r.Meta(), got)
		if err != nil {
			t.Fatalf("read %d coins that the Writer refuses: %v", len(got), err)
		}
		if !bytes.Equal(w, data) {
			t.Fatalf("written back differently:\n got %x\nread %x", w, data)
		}
	})
}
