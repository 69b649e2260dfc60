package coresnap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/satnode/satnode/utxo"
)

// Damaged copies of a real snapshot are each refused with the right code.
func TestBadFiles(t *testing.T) {
	good := fixture(t, file14131)
	cut := func(n int) []byte { return bytes.Clone(good[:n]) }
	withCount := func(d int64) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b[43:], uint64(int64(binary.LittleEndian.Uint64(b[43:]))+d))
		return b
	}
	set := func(off int, v ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		file []byte
		net  Network
		base int32
		code ErrorCode
		says string // a part of the message
	}{
		{"empty", nil, MainNet, 14131, ErrTruncated, "magic"},
		{"cut in the magic", cut(3), MainNet, 14131, ErrTruncated, "magic (3 of 5 bytes; header)"},
		{"cut in the version", cut(6), MainNet, 14131, ErrTruncated, "version"},
		{"cut in the network", cut(9), MainNet, 14131, ErrTruncated, "network"},
		{"cut in the base hash", cut(30), MainNet, 14131, ErrTruncated, "base block hash"},
		{"cut in the count", cut(50), MainNet, 14131, ErrTruncated, "coin count"},
		{"cut after the header", cut(51), MainNet, 14131, ErrTruncated, "ends where the txid should start (body, 0 of 13416 coins read)"},
		{"cut in a txid", cut(60), MainNet, 14131, ErrTruncated, "txid (9 of 32 bytes"},
		{"cut before a group's count", cut(83), MainNet, 14131, ErrTruncated, "coin count of txid 4b46ca82"},
		{"cut before a vout", cut(84), MainNet, 14131, ErrTruncated, "vout"},
		{"cut in a height", cut(86), MainNet, 14131, ErrTruncated, "inside the coin"},
		{"cut in a P2PK key", cut(100), MainNet, 14131, ErrTruncated, "inside the coin"},
		{"cut mid-file", cut(len(good) / 2), MainNet, 14131, ErrTruncated, "ends"},
		{"last byte missing", cut(len(good) - 1), MainNet, 14131, ErrTruncated, "13415 of 13416 coins read"},
		{"bad magic", set(0, 'U'), MainNet, 14131, ErrBadMagic, "5574786fff"},
		{"version 1", set(5, 1, 0), MainNet, 14131, ErrBadVersion, "format version 1"},
		{"version 3", set(5, 3, 0), MainNet, 14131, ErrBadVersion, "format version 3"},
		{"another network", good, TestNet3, 14131, ErrWrongNetwork, "the snapshot is for mainnet, expected testnet3"},
		{"signet file on mainnet", set(7, 0x0a, 0x03, 0xcf, 0x40), MainNet, 14131, ErrWrongNetwork, "for signet, expected mainnet"},
		{"unknown network", set(7, 1, 2, 3, 4), MainNet, 14131, ErrWrongNetwork, "unknown network 01020304"},
		{"count + 1", withCount(1), MainNet, 14131, ErrTruncated, "13416 of 13417 coins read"},
		// The last txid has one coin, so Core too finds a coin left over.
		{"count - 1", withCount(-1), MainNet, 14131, ErrTrailingData, "after the 13415 coins"},
		{"count 0", withCount(-13416), MainNet, 14131, ErrTrailingData, "after the 0 coins"},
		{"a byte too many", append(bytes.Clone(good), 0), MainNet, 14131, ErrTrailingData, "after the 13416 coins"},
		{"base below the top coin", good, MainNet, 14130, ErrBadHeight, "coin height 14131 is above the base height 14130"},
		{"base far below", good, MainNet, 2000, ErrBadHeight, "coin height 2039 is above the base height 2000"},
		{"empty group", set(83, 0), MainNet, 14131, ErrEmptyTxid, "has no coins"},
		{"non-canonical count", append(append(cut(83), 0xfd, 1, 0), good[84:]...), MainNet, 14131, ErrNonCanonical, "non-canonical CompactSize 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(tc.file, tc.net, tc.base)
			e := wantCode(t, err, tc.code)
			if !strings.Contains(e.Error(), tc.says) {
				t.Errorf("message %q does not say %q", e, tc.says)
			}
			t.Log(e)
		})
	}
}

// An uncompressed P2PK whose stored x is off the curve cannot be rebuilt.
func TestBadPubKey(t *testing.T) {
	good := fixture(t, file14131)
	_, coins, err := readAll(good, MainNet, 14131)
	if err != nil {
		t.Fatal(err)
	}
	// Find an uncompressed P2PK coin, and its x in the file.
	var at int
	for _, sc := range coins[100:] {
		if len(sc.c.Script) == 67 {
			enc := utxo.AppendCoreCoin(nil, &sc.c)
			at = bytes.Index(good, enc) + len(enc) - 32
			break
		}
	}
	if at < 32 || good[at-1] != 4 && good[at-1] != 5 {
		t.Fatalf("no kind 4/5 script found (at %d)", at)
	}
	// Change the last byte of x until it is no point's x (about half of
	// all values are).
	for d := byte(1); d != 0; d++ {
		bad := bytes.Clone(good)
		bad[at+31] ^= d
		_, _, err = readAll(bad, MainNet, 14131)
		if err == nil {
			continue // still a point: another key, a valid file
		}
		e := wantCode(t, err, ErrBadPubKey)
		if !errors.Is(err, utxo.ErrCorePubKey) || e.Outpoint == nil || e.Offset >= int64(at) {
			t.Fatalf("%v (Err %v, offset %d, x at %d)", e, e.Err, e.Offset, at)
		}
		t.Log(e)
		return
	}
	t.Fatal("every x decompressed")
}

// Real coins rearranged: groups swapped or repeated.
func TestOutOfOrder(t *testing.T) {
	good := fixture(t, file14131)
	// The first two groups have one coin each; find where they end.
	r, err := NewReader(bytes.NewReader(good), MainNet, 14131)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int64
	for range 2 {
		if _, _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, r.Offset())
	}
	g1, g2, rest := good[HeaderSize:ends[0]], good[ends[0]:ends[1]], good[ends[1]:]
	if g1[32] != 1 || g2[32] != 1 {
		t.Fatal("the first groups do not have one coin each")
	}
	header := bytes.Clone(good[:HeaderSize])
	swapped := append(append(append(bytes.Clone(header), g2...), g1...), rest...)
	_, _, err = readAll(swapped, MainNet, 14131)
	t.Log(wantCode(t, err, ErrOutOfOrder))

	count := binary.LittleEndian.Uint64(header[43:])
	binary.LittleEndian.PutUint64(header[43:], count+1)
	repeated := append(append(append(bytes.Clone(header), g1...), g1...), good[ends[0]:]...)
	_, _, err = readAll(repeated, MainNet, 14131)
	e := wantCode(t, err, ErrOutOfOrder)
	if !strings.Contains(e.Error(), "second group") {
		t.Error(e)
	}
}

// What no real file holds, on hand-made files.
func TestBadCoins(t *testing.T) {
	c := func(vout uint64, coin []byte) rawCoin { return rawCoin{vout: vout, coin: coin} }
	ok := enc(1, 100, p2pkh(1))
	for _, tc := range []struct {
		name string
		file []byte
		code ErrorCode
	}{
		{"repeated vout", rawFile(2, group(1, c(3, ok), c(3, ok))), ErrOutOfOrder},
		{"descending vouts", rawFile(2, group(1, c(3, ok), c(2, ok))), ErrOutOfOrder},
		{"vout above MAX_SIZE", rawFile(1, group(1, c(coreMaxSize+1, ok))), ErrVoutRange},
		{"vout 2^32-1", rawFile(1, group(1, c(1<<32-1, ok))), ErrVoutRange},
		{"non-canonical vout", rawFile(1, group(1, rawCoin{voutEnc: []byte{0xfe, 5, 0, 0, 0}, coin: ok})), ErrNonCanonical},
		{"group count above MAX_SIZE", rawFile(1, rawGroup{n: coreMaxSize + 1, coins: []rawCoin{c(0, ok)}}), ErrNonCanonical},
		{"group larger than the count", rawFile(2, group(1, c(0, ok)), group(2, c(0, ok), c(1, ok))), ErrCountMismatch},
		{"amount above 21M BTC", rawFile(1, group(1, c(0, enc(utxo.MaxMoney+1_000_000_000, 1, p2pkh(1))))), ErrAmountRange},
		{"amount VARINT overflow", rawFile(1, group(1, c(0, append([]byte{0x00}, bytes.Repeat([]byte{0xff}, 11)...)))), ErrAmountRange},
		{"height code over 32 bits", rawFile(1, group(1, c(0, []byte{0x8f, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x00}))), ErrBadHeight},
		{"raw script over 10,000 bytes", rawFile(1, group(1, c(0, append([]byte{0x00, 0x01, 0xcd, 0x17}, make([]byte, 10_001)...)))), ErrScriptTooLong},
		{"raw P2PKH", rawFile(1, group(1, c(0, append([]byte{0x00, 0x01, 25 + 6}, p2pkh(1)...)))), ErrNonCanonical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(tc.file, MainNet, 1000)
			t.Log(wantCode(t, err, tc.code))
		})
	}
}

type failingReader struct {
	b []byte
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// Errors of the underlying reader come back wrapped, not as a bad file.
func TestReaderIOError(t *testing.T) {
	good := fixture(t, file14131)
	_, _, err := readAll(nil, MainNet, 0)
	wantCode(t, err, ErrTruncated)
	r, err := NewReader(&failingReader{b: good[:5000]}, MainNet, 14131)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, _, err = r.Next()
	}
	var e *Error
	if errors.As(err, &e) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("got %v", err)
	}
	if _, _, again := r.Next(); again != err {
		t.Fatalf("not sticky: %v", again)
	}
}
