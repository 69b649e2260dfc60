package tx

import (
	"bytes"
	"reflect"
	"testing"
)

// fuzzSeeds returns the valid encodings of every kind (bodies or envelopes)
// plus a few near misses, so the fuzzer starts from inside the format.
func fuzzSeeds(t testing.TB, envelopes bool) [][]byte {
	var seeds [][]byte
	for _, m := range goldenMsgs() {
		e, err := Sign(testChainID, keyOf(1), uint64(m.Kind()), m)
		if err != nil {
			t.Fatal(err)
		}
		if envelopes {
			seeds = append(seeds, e.Marshal())
		} else {
			seeds = append(seeds, e.Body)
		}
	}
	if envelopes {
		seeds = append(seeds, nil, []byte{EnvelopeVersion})
	} else {
		seeds = append(seeds, nil, []byte{BodyVersion, byte(KindSubmitHeaders), 0x81, 0x00},
			[]byte{BodyVersion, byte(KindEndorse), 0xd1, 0x0f})
	}
	return seeds
}

// checkErr fails unless err is an *Error with a code other than OK and
// Internal: every rejection of outside bytes must say what was wrong.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !asError(err, &e) || e.Code == CodeOK || e.Code == CodeInternal {
		t.Fatalf("rejection without a proper code: %v (%T)", err, err)
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}

// checkMsg asserts the round-trip properties for one decoded body.
func checkMsg(t *testing.T, b []byte, m Msg, err error) {
	t.Helper()
	if err != nil {
		checkErr(t, err)
		if m != nil {
			t.Fatal("rejected body returned a message")
		}
		return
	}
	enc, err := EncodeMsg(m)
	if err != nil {
		t.Fatalf("decoded message does not re-encode: %v", err)
	}
	if !bytes.Equal(enc, b) {
		t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
	}
	again, err := DecodeMsg(enc)
	if err != nil || !reflect.DeepEqual(again, m) {
		t.Fatalf("decode(encode(m)) = %+v, %v; want %+v", again, err, m)
	}
}

// FuzzMsg: DecodeMsg never panics, every rejection carries a code, and
// every accepted body re-encodes to itself.
func FuzzMsg(f *testing.F) {
	for _, s := range fuzzSeeds(f, false) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMsg(b)
		checkMsg(t, b, m, err)
	})
}

// FuzzEnvelope: Unmarshal never panics, every rejection carries a code,
// every accepted envelope marshals back to the same bytes, and its body
// and signature can be checked without panicking.
func FuzzEnvelope(f *testing.F) {
	for _, s := range fuzzSeeds(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Unmarshal(b)
		if err != nil {
			checkErr(t, err)
			if e != nil {
				t.Fatal("rejected envelope returned non-nil")
			}
			return
		}
		if out := e.Marshal(); !bytes.Equal(out, b) {
			t.Fatalf("re-marshal differs:\n in %x\nout %x", b, out)
		}
		m, err := e.Msg()
		checkMsg(t, e.Body, m, err)
		if err := e.Verify(testChainID); err != nil {
			checkErr(t, err)
		}
	})
}
