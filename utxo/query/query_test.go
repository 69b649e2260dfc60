package query

import (
	"encoding/json"
	"testing"
)

func TestAmountJSON(t *testing.T) {
	for _, c := range []struct {
		sat  int64
		text string
	}{{0, "0.00000000"}, {1, "0.00000001"}, {5000000000, "50.00000000"}, {-12345678, "-0.12345678"},
		{2100000000000000, "21000000.00000000"}} {
		b, _ := json.Marshal(Amount(c.sat))
		if string(b) != c.text {
			t.Errorf("%d marshals to %s, want %s", c.sat, b, c.text)
		}
		var a Amount
		if err := json.Unmarshal(b, &a); err != nil || int64(a) != c.sat {
			t.Errorf("%s unmarshals to %d, %v", b, a, err)
		}
	}
}

func TestParseOutpoint(t *testing.T) {
	op, err := ParseOutpoint("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1")
	if err != nil || op.Index != 1 || op.Hash.String() != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("%v %v", op, err)
	}
	for _, bad := range []string{"", ":", "f4184f:0", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16",
		"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:-1",
		"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:4294967296",
		"z4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"} {
		if _, err := ParseOutpoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParsers feeds arbitrary text to the parsers of user input: they must
// return an error or a value that formats back to the same text.
func FuzzParsers(f *testing.F) {
	f.Add("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0")
	f.Add("863dbe335d2caa8f5a4b990277fb39bd9b34167c540472fa78099b14f873539e")
	f.Add("50.00000000")
	f.Fuzz(func(t *testing.T, s string) {
		if op, err := ParseOutpoint(s); err == nil {
			if op2, err := ParseOutpoint(op.String()); err != nil || op2 != op {
				t.Fatalf("%q parses to %v, which does not round-trip", s, op)
			}
		}
		if sh, err := ParseScriptHash(s); err == nil && len(s) != 64 {
			t.Fatalf("%q parsed as script hash %x", s, sh)
		}
		var a Amount
		if err := a.UnmarshalJSON([]byte(s)); err == nil {
			var b Amount
			if err := b.UnmarshalJSON([]byte(a.String())); err != nil || a != b {
				t.Fatalf("amount %q -> %s does not round-trip", s, a)
			}
		}
	})
}
