package coresnap

import (
	"bytes"
	"errors"
	"testing"

	"github.com/satnode/satnode/utxo"
)

// Reading a file and writing its coins back gives the file, byte for byte.
func TestWriteFixturesBack(t *testing.T) {
	for _, tc := range []struct {
		file string
		base int32
	}{{file14131, 14131}, {file367890, 367890}} {
		t.Run(tc.file, func(t *testing.T) {
			b := fixture(t, tc.file)
			meta, coins, err := readAll(b, MainNet, tc.base)
			if err != nil {
				t.Fatal(err)
			}
			w, err := writeAll(meta, coins)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w, b) {
				i := 0
				for i < len(w) && i < len(b) && w[i] == b[i] {
					i++
				}
				t.Fatalf("written %d bytes differ from the %d-byte file at byte %d", len(w), len(b), i)
			}
		})
	}
}

// The vouts of a txid may come in any order; they are written in Core's.
func TestWriterSortsVouts(t *testing.T) {
	want := rawFile(4, group(1, coinAt(0, 1), coinAt(255, 2), coinAt(16512, 3), coinAt(256, 4)))
	_, coins, err := readAll(want, MainNet, 1000)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := []snapCoin{coins[3], coins[0], coins[2], coins[1]}
	got, err := writeAll(Meta{Network: MainNet, BaseHash: [32]byte{0xbb}, Count: 4}, shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
}

func TestWriterRefuses(t *testing.T) {
	op := func(txid byte, vout uint32) utxo.Outpoint {
		o := utxo.Outpoint{Index: vout}
		o.Hash[0] = txid
		return o
	}
	good := utxo.Coin{Value: 1, Height: 1, Script: p2pkh(1)}
	for _, tc := range []struct {
		name  string
		count uint64
		coins []snapCoin
		code  ErrorCode
	}{
		{"txid out of order", 2, []snapCoin{{op(2, 0), good}, {op(1, 0), good}}, ErrOutOfOrder},
		{"txid split", 3, []snapCoin{{op(1, 0), good}, {op(2, 0), good}, {op(1, 1), good}}, ErrOutOfOrder},
		{"duplicate outpoint", 2, []snapCoin{{op(1, 3), good}, {op(1, 3), good}}, ErrOutOfOrder},
		{"more than the count", 1, []snapCoin{{op(1, 0), good}, {op(2, 0), good}}, ErrCountMismatch},
		{"fewer than the count", 3, []snapCoin{{op(1, 0), good}, {op(2, 0), good}}, ErrCountMismatch},
		{"negative amount", 1, []snapCoin{{op(1, 0), utxo.Coin{Value: -1, Script: p2pkh(1)}}}, ErrAmountRange},
		{"amount above 21M BTC", 1, []snapCoin{{op(1, 0), utxo.Coin{Value: utxo.MaxMoney + 1, Script: p2pkh(1)}}}, ErrAmountRange},
		{"negative height", 1, []snapCoin{{op(1, 0), utxo.Coin{Value: 1, Height: -1, Script: p2pkh(1)}}}, ErrBadHeight},
		{"vout above MAX_SIZE", 1, []snapCoin{{op(1, coreMaxSize+1), good}}, ErrVoutRange},
		{"script over 10,000 bytes", 1, []snapCoin{{op(1, 0), utxo.Coin{Value: 1, Script: make([]byte, 10_001)}}}, ErrScriptTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := writeAll(Meta{Network: MainNet, Count: tc.count}, tc.coins)
			e := wantCode(t, err, tc.code)
			t.Log(e)
		})
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// Errors of the underlying writer come back from Close, wrapped, and are
// not mistaken for a bad set.
func TestWriterIOError(t *testing.T) {
	b := fixture(t, file14131)
	meta, coins, err := readAll(b, MainNet, 14131)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(&failingWriter{n: 1000}, meta)
	for _, sc := range coins {
		if err = w.Write(sc.op, sc.c); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Close()
	}
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("got %v, want the writer's error", err)
	}
	t.Log(err)
}
