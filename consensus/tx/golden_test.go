package tx

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt (only for a deliberate format change)")

const goldenPath = "testdata/golden.txt"

// goldenEnvelopes signs goldenMsgs with key 0x01..01 for testChainID, the
// nonce of each being its kind number.
func goldenEnvelopes(t *testing.T) []*Envelope {
	var out []*Envelope
	for _, m := range goldenMsgs() {
		e, err := Sign(testChainID, keyOf(1), uint64(m.Kind()), m)
		if err != nil {
			t.Fatalf("%s: %v", m.Kind(), err)
		}
		out = append(out, e)
	}
	return out
}

// TestGolden pins the exact bytes of one signed envelope per kind. Any
// change to the encoding, the digest or the signing nonce derivation fails
// here; such a change is a hard fork and needs new versions, not an
// -update.
func TestGolden(t *testing.T) {
	envs := goldenEnvelopes(t)
	if *update {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# One signed envelope per kind: key 0x01 x 32 (address %s),\n", addrOf(1))
		fmt.Fprintf(&buf, "# chain id %q, nonce = kind. Format: <kind> <hex of the wire form>.\n", testChainID)
		fmt.Fprintf(&buf, "# Pinned by TestGolden; the encoding is consensus, never regenerate casually.\n")
		for _, e := range envs {
			m, _ := e.Msg()
			fmt.Fprintf(&buf, "%s %x\n", m.Kind(), e.Marshal())
		}
		if err := os.WriteFile(goldenPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readGolden(t)
	if len(want) != len(envs) {
		t.Fatalf("%s has %d vectors, want %d", goldenPath, len(want), len(envs))
	}
	for i, e := range envs {
		m, _ := e.Msg()
		g := want[i]
		if g.kind != m.Kind().String() {
			t.Fatalf("vector %d is %s, want %s", i, g.kind, m.Kind())
		}
		if got := e.Marshal(); !bytes.Equal(got, g.wire) {
			t.Errorf("%s: signed envelope\n got %x\nwant %x", g.kind, got, g.wire)
			continue
		}
		// And the other way: the pinned bytes decode, verify and give
		// back the message.
		d, err := Unmarshal(g.wire)
		if err != nil {
			t.Fatalf("%s: %v", g.kind, err)
		}
		wantCode(t, d.Verify(testChainID), CodeOK)
		dm, err := d.Msg()
		if err != nil || !reflect.DeepEqual(dm, m) {
			t.Fatalf("%s: golden decodes to %+v, %v", g.kind, dm, err)
		}
	}
}

type goldenVector struct {
	kind string
	wire []byte
}

func readGolden(t *testing.T) []goldenVector {
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenVector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, h, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad golden line %q", line)
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		out = append(out, goldenVector{kind, b})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
