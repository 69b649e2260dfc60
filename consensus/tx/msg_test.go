package tx

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestMsgRoundTrip(t *testing.T) {
	msgs := append(goldenMsgs(),
		CreateValidator{EndorserKey: addrOf(9), CommissionBps: MaxCommissionBps, SelfStake: 1},
		CreateValidator{EndorserKey: addrOf(9), SelfStake: ^uint64(0), Moniker: strings.Repeat("é", MaxMonikerBytes/2)},
		Transfer{To: addrOf(2), Amount: ^uint64(0)},
		SubmitHeaders{Headers: syntheticHeaders(1)},
		SubmitHeaders{Headers: syntheticHeaders(MaxHeadersPerTx)},
		Endorse{Items: endorsements(1)},
		Endorse{Items: endorsements(MaxEndorsementsPerTx)},
		Endorse{Items: []Endorsement{{Height: 0}, {Height: ^uint32(0)}}},
	)
	for _, m := range msgs {
		b, err := EncodeMsg(m)
		if err != nil {
			t.Fatalf("EncodeMsg(%s): %v", m.Kind(), err)
		}
		if b[0] != BodyVersion || Kind(b[1]) != m.Kind() {
			t.Fatalf("%s: body starts %x", m.Kind(), b[:2])
		}
		got, err := DecodeMsg(b)
		if err != nil {
			t.Fatalf("DecodeMsg(%s): %v", m.Kind(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%s: decoded %+v, want %+v", m.Kind(), got, m)
		}
		again, _ := EncodeMsg(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("%s: re-encoding differs", m.Kind())
		}
		// The decoded message must not alias the input.
		for i := range b {
			b[i] ^= 0xff
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%s: decoded message aliases its input", m.Kind())
		}
	}
}

// TestEncodeLayout checks the field layout against doc.go's table for two
// kinds, byte by byte, so the documentation and the code cannot diverge.
func TestEncodeLayout(t *testing.T) {
	to := addrOf(2)
	b, _ := EncodeMsg(Transfer{To: to, Amount: 0x0102030405060708})
	want := append([]byte{1, 1}, to[:]...)
	want = append(want, 1, 2, 3, 4, 5, 6, 7, 8)
	if !bytes.Equal(b, want) {
		t.Fatalf("Transfer body %x, want %x", b, want)
	}

	cv := CreateValidator{ConsensusKey: [32]byte{0xaa}, EndorserKey: addrOf(4), CommissionBps: 0x0102, SelfStake: 9, Moniker: "ab"}
	b, _ = EncodeMsg(cv)
	want = append([]byte{1, 2}, cv.ConsensusKey[:]...)
	want = append(want, cv.EndorserKey[:]...)
	want = append(want, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 9, 2, 'a', 'b')
	if !bytes.Equal(b, want) {
		t.Fatalf("CreateValidator body %x, want %x", b, want)
	}

	b, _ = EncodeMsg(SubmitHeaders{Headers: syntheticHeaders(200)})
	if len(b) != 2+2+200*HeaderSize || b[2] != 0xc8 || b[3] != 0x01 {
		t.Fatalf("SubmitHeaders(200) body: len %d, count bytes %x", len(b), b[2:4])
	}
	b, _ = EncodeMsg(Unjail{})
	if !bytes.Equal(b, []byte{1, 8}) {
		t.Fatalf("Unjail body %x", b)
	}
}

// TestValidateBasic covers every stateless rule through both paths:
// EncodeMsg refuses the message, and DecodeMsg refuses its encoding
// (built by appendFields directly, bypassing the check).
func TestValidateBasic(t *testing.T) {
	off := offCurve(t)
	unchained := syntheticHeaders(3)
	unchained[2][10] ^= 1
	badChain := SubmitHeaders{Headers: [][HeaderSize]byte{mainnetHeaders[0], mainnetHeaders[2]}}
	cv := func(f func(*CreateValidator)) Msg {
		m := CreateValidator{EndorserKey: addrOf(4), CommissionBps: 100, SelfStake: 1, Moniker: "ok"}
		f(&m)
		return m
	}
	cases := []struct {
		name string
		m    Msg
		code Code
	}{
		{"transfer zero", Transfer{To: addrOf(2)}, CodeInvalidAmount},
		{"transfer off-curve", Transfer{To: off, Amount: 1}, CodeInvalidAddress},
		{"transfer zero address", Transfer{Amount: 1}, CodeInvalidAddress},
		{"commission max", cv(func(m *CreateValidator) { m.CommissionBps = MaxCommissionBps }), CodeOK},
		{"commission above max", cv(func(m *CreateValidator) { m.CommissionBps = MaxCommissionBps + 1 }), CodeInvalidCommission},
		{"commission 0xffff", cv(func(m *CreateValidator) { m.CommissionBps = 0xffff }), CodeInvalidCommission},
		{"self stake zero", cv(func(m *CreateValidator) { m.SelfStake = 0 }), CodeInvalidAmount},
		{"endorser off-curve", cv(func(m *CreateValidator) { m.EndorserKey = off }), CodeInvalidAddress},
		{"moniker empty", cv(func(m *CreateValidator) { m.Moniker = "" }), CodeOK},
		{"moniker 64 bytes", cv(func(m *CreateValidator) { m.Moniker = strings.Repeat("x", 64) }), CodeOK},
		{"moniker 65 bytes", cv(func(m *CreateValidator) { m.Moniker = strings.Repeat("x", 65) }), CodeInvalidMoniker},
		{"moniker unicode", cv(func(m *CreateValidator) { m.Moniker = "Pool 矿池 ⛏ 🚀" }), CodeOK},
		{"moniker NUL", cv(func(m *CreateValidator) { m.Moniker = "a\x00b" }), CodeInvalidMoniker},
		{"moniker newline", cv(func(m *CreateValidator) { m.Moniker = "a\nb" }), CodeInvalidMoniker},
		{"moniker DEL", cv(func(m *CreateValidator) { m.Moniker = "a\x7f" }), CodeInvalidMoniker},
		{"moniker C1", cv(func(m *CreateValidator) { m.Moniker = "a\u0085" }), CodeInvalidMoniker},
		{"moniker RLO", cv(func(m *CreateValidator) { m.Moniker = "a\u202eb" }), CodeInvalidMoniker},
		{"moniker isolate", cv(func(m *CreateValidator) { m.Moniker = "a\u2066b" }), CodeInvalidMoniker},
		{"moniker zero width", cv(func(m *CreateValidator) { m.Moniker = "a\u200bb" }), CodeInvalidMoniker},
		{"moniker BOM", cv(func(m *CreateValidator) { m.Moniker = "\ufeffa" }), CodeInvalidMoniker},
		{"moniker invalid UTF-8", cv(func(m *CreateValidator) { m.Moniker = "a\xffb" }), CodeInvalidMoniker},
		{"moniker surrogate", cv(func(m *CreateValidator) { m.Moniker = "\xed\xa0\x80" }), CodeInvalidMoniker},
		{"moniker overlong", cv(func(m *CreateValidator) { m.Moniker = "\xc0\xaf" }), CodeInvalidMoniker},
		{"delegate zero", Delegate{Validator: addrOf(5)}, CodeInvalidAmount},
		{"delegate off-curve", Delegate{Validator: off, Amount: 1}, CodeInvalidAddress},
		{"undelegate zero", Undelegate{Validator: addrOf(5)}, CodeInvalidAmount},
		{"undelegate off-curve", Undelegate{Validator: off, Amount: 1}, CodeInvalidAddress},
		{"bond zero", RegisterSynchronizer{Payout: addrOf(6)}, CodeInvalidAmount},
		{"payout off-curve", RegisterSynchronizer{Bond: 1, Payout: off}, CodeInvalidAddress},
		{"no headers", SubmitHeaders{}, CodeEmptyList},
		{"headers max", SubmitHeaders{Headers: syntheticHeaders(MaxHeadersPerTx)}, CodeOK},
		{"headers above max", SubmitHeaders{Headers: syntheticHeaders(MaxHeadersPerTx + 1)}, CodeTooLarge},
		{"headers unchained", SubmitHeaders{Headers: unchained}, CodeHeadersNotChained},
		{"headers skip one", badChain, CodeHeadersNotChained},
		{"headers repeated", SubmitHeaders{Headers: [][HeaderSize]byte{mainnetHeaders[1], mainnetHeaders[1]}}, CodeHeadersNotChained},
		{"no endorsements", Endorse{}, CodeEmptyList},
		{"endorsements max", Endorse{Items: endorsements(MaxEndorsementsPerTx)}, CodeOK},
		{"endorsements above max", Endorse{Items: endorsements(MaxEndorsementsPerTx + 1)}, CodeTooLarge},
		{"endorsements equal heights", Endorse{Items: []Endorsement{{Height: 5}, {Height: 5, Hash: [32]byte{1}}}}, CodeUnorderedEndorsements},
		{"endorsements decreasing", Endorse{Items: []Endorsement{{Height: 5}, {Height: 4}}}, CodeUnorderedEndorsements},
		{"withdraw off-curve", WithdrawRewards{Validator: off}, CodeInvalidAddress},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, c.m.ValidateBasic(), c.code)
			_, err := EncodeMsg(c.m)
			wantCode(t, err, c.code)
			raw := c.m.appendFields([]byte{BodyVersion, byte(c.m.Kind())})
			if c.code == CodeTooLarge {
				// Decoding stops at the count, before the items.
				_, err = DecodeMsg(raw)
				wantCode(t, err, CodeTooLarge)
				return
			}
			_, err = DecodeMsg(raw)
			wantCode(t, err, c.code)
		})
	}
}

// TestDecodeRejects covers the encoding rules: each case is a body that
// must not decode, with the code it must fail with.
func TestDecodeRejects(t *testing.T) {
	transfer, _ := EncodeMsg(goldenMsgs()[0])
	headers := func(count []byte, n int) []byte {
		b := append([]byte{BodyVersion, byte(KindSubmitHeaders)}, count...)
		for _, h := range syntheticHeaders(n) {
			b = append(b, h[:]...)
		}
		return b
	}
	cvPrefix := func(moniker ...byte) []byte {
		b, _ := EncodeMsg(CreateValidator{EndorserKey: addrOf(4), SelfStake: 1})
		return append(b[:len(b)-1], moniker...) // replace the zero length
	}
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	cases := []struct {
		name string
		b    []byte
		code Code
	}{
		{"empty", nil, CodeMalformed},
		{"version only", []byte{BodyVersion}, CodeMalformed},
		{"version 0", append([]byte{0}, transfer[1:]...), CodeMalformed},
		{"version 2", append([]byte{2}, transfer[1:]...), CodeMalformed},
		{"kind 0", []byte{BodyVersion, 0}, CodeMalformed},
		{"kind 10", []byte{BodyVersion, 10}, CodeMalformed},
		{"kind 255", []byte{BodyVersion, 255}, CodeMalformed},
		{"headers count non-minimal", headers([]byte{0x81, 0x00}, 1), CodeMalformed},
		{"headers count padded zero", headers([]byte{0x80, 0x00}, 0), CodeMalformed},
		{"headers count 2001", headers(uv(MaxHeadersPerTx+1), 0), CodeTooLarge},
		{"headers count 2^63", headers(uv(1<<63), 0), CodeTooLarge},
		{"headers count overflows", headers(bytes.Repeat([]byte{0xff}, 10), 0), CodeMalformed},
		{"headers count truncated", headers([]byte{0x81}, 0), CodeMalformed},
		{"headers fewer than count", headers(uv(3), 2), CodeMalformed},
		{"headers more than count", headers(uv(2), 3), CodeMalformed},
		{"headers count 0", headers(uv(0), 0), CodeEmptyList},
		{"endorse count 2001", append([]byte{BodyVersion, byte(KindEndorse)}, uv(MaxEndorsementsPerTx+1)...), CodeTooLarge},
		{"endorse half item", append([]byte{BodyVersion, byte(KindEndorse), 1}, make([]byte, 20)...), CodeMalformed},
		{"moniker length 65", cvPrefix(append(uv(65), bytes.Repeat([]byte{'x'}, 65)...)...), CodeInvalidMoniker},
		{"moniker length non-minimal", cvPrefix(0x82, 0x00, 'a', 'b'), CodeMalformed},
		{"moniker truncated", cvPrefix(3, 'a', 'b'), CodeMalformed},
		{"unjail with a byte", []byte{BodyVersion, byte(KindUnjail), 0}, CodeMalformed},
		{"too large", append(transfer, make([]byte, MaxTxBytes)...), CodeTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := DecodeMsg(c.b)
			wantCode(t, err, c.code)
			if m != nil {
				t.Fatalf("rejected body returned a message %+v", m)
			}
		})
	}
}

// TestDecodeTruncatedAndTrailing cuts every valid encoding at every length
// and appends a byte to it: all must fail as CodeMalformed.
func TestDecodeTruncatedAndTrailing(t *testing.T) {
	for _, m := range goldenMsgs() {
		b, _ := EncodeMsg(m)
		for n := 0; n < len(b); n++ {
			_, err := DecodeMsg(b[:n])
			wantCode(t, err, CodeMalformed)
		}
		_, err := DecodeMsg(append(b[:len(b):len(b)], 0))
		wantCode(t, err, CodeMalformed)
	}
}

func TestEncodeNil(t *testing.T) {
	_, err := EncodeMsg(nil)
	wantCode(t, err, CodeInternal)
}
