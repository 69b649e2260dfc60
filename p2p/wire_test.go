package p2p

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// The worked example of wire.go's format comment, from the genesis block.
const genesisAnnouncementHex = "01" + "00000000" +
	"01000000" + "0000000000000000000000000000000000000000000000000000000000000000" +
	"3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a" +
	"29ab5f49" + "ffff001d" + "1dac2b7c" +
	"0000011d"

func TestAnnouncementWorkedExample(t *testing.T) {
	tb := loadBlocks(t)
	want, _ := hex.DecodeString(genesisAnnouncementHex)
	got, err := tb.announcement(0).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("genesis announcement\n got %x\nwant %x", got, want)
	}
	a, err := DecodeAnnouncement(want)
	if err != nil {
		t.Fatal(err)
	}
	if a != tb.announcement(0) {
		t.Fatalf("decoded %+v", a)
	}
	if a.Hash.String() != "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f" {
		t.Fatalf("hash %s", a.Hash)
	}
}

func TestDecodeAnnouncementRejects(t *testing.T) {
	good, _ := hex.DecodeString(genesisAnnouncementHex)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":        nil,
		"short":        good[:88],
		"long":         append(bytes.Clone(good), 0),
		"version 0":    mod(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":    mod(func(b []byte) []byte { b[0] = 2; return b }),
		"height 2^31":  mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:], 1<<31); return b }),
		"size 0":       mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[85:], 0); return b }),
		"size 80":      mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[85:], 80); return b }),
		"size 4000001": mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[85:], 4_000_001); return b }),
	} {
		if _, err := DecodeAnnouncement(b); !errors.Is(err, ErrBadAnnouncement) {
			t.Errorf("%s: err = %v, want ErrBadAnnouncement", name, err)
		}
	}
}

func FuzzDecodeAnnouncement(f *testing.F) {
	good, _ := hex.DecodeString(genesisAnnouncementHex)
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnnouncement(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		again, err := a.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip: %x → %+v → %x, %v", b, a, again, err)
		}
	})
}

func response(raw []byte, found bool) []byte {
	var b bytes.Buffer
	_ = writeResponse(&b, raw, found)
	return b.Bytes()
}

func TestReadResponse(t *testing.T) {
	tb := loadBlocks(t)
	body := tb.raw[9]
	found := response(body, true)

	raw, ok, err := readResponse(bytes.NewReader(found), 1000)
	if err != nil || !ok || !bytes.Equal(raw, body) {
		t.Fatalf("found: ok=%v err=%v", ok, err)
	}
	if _, ok, err := readResponse(bytes.NewReader([]byte{statusNotFound}), 1000); ok || err != nil {
		t.Fatalf("not found: ok=%v err=%v", ok, err)
	}

	violations := map[string][]byte{
		"unknown status":     {7},
		"over cap":           response(make([]byte, 1001), true),
		"under minimum":      response(make([]byte, 80), true),
		"trailing bytes":     append(bytes.Clone(found), 0),
		"not found + bytes":  {statusNotFound, 0},
		"varint overflow":    {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		"varint non-minimal": {0, 0x80, 0x00},
	}
	for name, b := range violations {
		_, _, err := readResponse(bytes.NewReader(b), 1000)
		var v *violationError
		if !errors.As(err, &v) {
			t.Errorf("%s: err = %v, want a protocol violation", name, err)
		}
	}
	// A response cut short is a transport failure, not a violation: an
	// honest peer's connection can drop.
	for name, b := range map[string][]byte{
		"nothing":      {},
		"no length":    {statusFound},
		"half varint":  {statusFound, 0x80},
		"half a block": found[:len(found)/2],
	} {
		_, _, err := readResponse(bytes.NewReader(b), 1000)
		var v *violationError
		if err == nil || errors.As(err, &v) || !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Errorf("%s: err = %v, want an EOF that is not a violation", name, err)
		}
	}
}

// TestReadResponseHugePrefixNoAlloc: a length prefix of 1 TiB is refused
// before anything near that size is allocated.
func TestReadResponseHugePrefixNoAlloc(t *testing.T) {
	var b bytes.Buffer
	b.WriteByte(statusFound)
	b.Write(binary.AppendUvarint(nil, 1<<40))
	b.WriteString(strings.Repeat("x", 100))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := readResponse(bytes.NewReader(b.Bytes()), DefaultMaxBodyBytes)
	runtime.ReadMemStats(&after)
	var v *violationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v, want a protocol violation", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Fatalf("allocated %d bytes reading a refused response", grew)
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add(response(bytes.Repeat([]byte{1}, 100), true))
	f.Add([]byte{statusNotFound})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, found, err := readResponse(bytes.NewReader(b), 4096)
		if err != nil {
			return
		}
		// Whatever is accepted is exactly one well-formed response.
		if !bytes.Equal(response(raw, found), b) {
			t.Fatalf("accepted %x, which does not re-encode to itself", b)
		}
	})
}
