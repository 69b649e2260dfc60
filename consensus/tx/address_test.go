package tx

import (
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

func TestAddressRoundTrip(t *testing.T) {
	for b := byte(1); b <= 16; b++ {
		a := addrOf(b)
		s := a.String()
		if len(s) != 62 || !strings.HasPrefix(s, "sat1") {
			t.Fatalf("address text %q: want 62 characters starting sat1", s)
		}
		got, err := ParseAddress(s)
		if err != nil || got != a {
			t.Fatalf("ParseAddress(%q) = %x, %v; want %x", s, got, err, a)
		}
		// BIP-173: an all-uppercase string is the same address.
		got, err = ParseAddress(strings.ToUpper(s))
		if err != nil || got != a {
			t.Fatalf("ParseAddress(upper %q) = %x, %v", s, got, err)
		}
		pub, err := a.PubKey()
		if err != nil || AddressOf(pub) != a {
			t.Fatalf("PubKey of %s: %v", s, err)
		}
	}
}

// TestAddressGolden pins the text form of one address, so a change of
// prefix, checksum or bit packing cannot pass unnoticed. The expected
// string was computed independently with BIP-350's Python reference
// encoder from the x-only key 1b84c556...d5dd078f.
func TestAddressGolden(t *testing.T) {
	a := addrOf(1)
	const want = "sat1rwzv24nmzfjypx2a8m264ws9vht3uxp5vpypnluuzl67n4waq78sg2k5ne"
	if got := a.String(); got != want {
		t.Fatalf("address of key 0x01..01 = %s, want %s", got, want)
	}
}

// encodeWith encodes 32 bytes (plus extra 5-bit groups) under hrp, with a
// bech32 or bech32m checksum, to build the strings ParseAddress must reject.
func encodeWith(t *testing.T, hrp string, payload []byte, m bool, extra ...byte) string {
	t.Helper()
	data, err := bech32.ConvertBits(payload, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, extra...)
	enc := bech32.Encode
	if m {
		enc = bech32.EncodeM
	}
	s, err := enc(hrp, data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseAddressRejects(t *testing.T) {
	a := addrOf(1)
	good := a.String()
	off := offCurve(t)
	// The last data group holds 4 payload bits and 1 padding bit: setting
	// the padding bit gives the same bytes under another string.
	data, _ := bech32.ConvertBits(a[:], 8, 5, true)
	data[len(data)-1] |= 1
	padded, _ := bech32.EncodeM(AddressHRP, data)

	cases := map[string]string{
		"empty":                 "",
		"bech32 checksum":       encodeWith(t, AddressHRP, a[:], false),
		"wrong hrp":             encodeWith(t, "bc", a[:], true),
		"hrp with suffix":       encodeWith(t, "sats", a[:], true),
		"31 bytes":              encodeWith(t, AddressHRP, a[:31], true),
		"33 bytes":              encodeWith(t, AddressHRP, append(a[:], 0), true),
		"extra group":           encodeWith(t, AddressHRP, a[:], true, 0),
		"non-zero padding":      padded,
		"off curve":             off.String(),
		"mixed case":            "S" + good[1:],
		"bad checksum":          good[:len(good)-1] + flipChar(good[len(good)-1]),
		"hex is not accepted":   strings.Repeat("ab", 32),
		"bad character":         good[:10] + "b" + good[11:], // 'b' is not in the bech32 charset
		"whitespace":            " " + good,
		"too long for bech32":   AddressHRP + "1" + strings.Repeat("q", 90),
		"separator only":        "sat1",
		"different data length": encodeWith(t, AddressHRP, a[:20], true),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseAddress(s)
			wantCode(t, err, CodeInvalidAddress)
			if got != (Address{}) {
				t.Fatalf("rejected address returned non-zero %x", got)
			}
		})
	}
}

// flipChar returns another bech32 character than c.
func flipChar(c byte) string {
	if c == 'q' {
		return "p"
	}
	return "q"
}
