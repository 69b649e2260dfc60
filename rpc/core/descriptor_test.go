package core

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// TestDescriptorChecksum checks the checksum against published vectors,
// none invented here:
//   - raw(deadbeef)#89f8spxm: BIP 380's test vector;
//   - raw(76a914…88ac)#fm24fxxy: the example descriptor of Core's
//     scantxoutset help (EXAMPLE_DESCRIPTOR_RAW in rpc/blockchain.cpp);
//   - the sh(multi(...)) pair: Core's descriptor_tests.cpp "Checksums"
//     case;
//   - addr(mkmZ…)#02wpgw69: the example several descriptor libraries test
//     against Core's getdescriptorinfo.
func TestDescriptorChecksum(t *testing.T) {
	for _, d := range []string{
		"raw(deadbeef)#89f8spxm",
		"raw(76a91411b366edfc0a8b66feebae5c2e25a7b6a5d1cf3188ac)#fm24fxxy",
		"sh(multi(2,[00000000/111'/222]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc,xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L/0))#ggrsrxfy",
		"sh(multi(2,[00000000/111'/222]xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL,xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y/0))#tjg09x5t",
		"addr(mkmZxiEcEd8ZqjQWVZuC6so5dFMKEFpN2j)#02wpgw69",
	} {
		payload, sum, _ := strings.Cut(d, "#")
		if got := descriptorChecksum(payload); got != sum {
			t.Errorf("checksum of %s = %s, want %s", payload, got, sum)
		}
	}
	if descriptorChecksum("raw(Ü)") != "" {
		t.Error("a character outside the descriptor alphabet has a checksum")
	}
}

// TestParseDescriptor: BIP 380's invalid checksum vectors get Core's
// messages, addr() and raw() name their scripts, and everything else is
// refused with the right code.
func TestParseDescriptor(t *testing.T) {
	net := &chaincfg.TestNet3Params
	for _, tc := range []struct {
		desc string
		code int
		msg  string
	}{
		{"raw(deadbeef)#", -5, "Expected 8 character checksum, not 0 characters"},
		{"raw(deadbeef)#89f8spxmx", -5, "Expected 8 character checksum, not 9 characters"},
		{"raw(deadbeef)#89f8spx", -5, "Expected 8 character checksum, not 7 characters"},
		{"raw(deedbeef)#89f8spxm", -5, "Provided checksum '89f8spxm' does not match computed checksum '" + descriptorChecksum("raw(deedbeef)") + "'"},
		{"raw(deadbeef)#99f8spxm", -5, "Provided checksum '99f8spxm' does not match computed checksum '89f8spxm'"},
		{"raw(Ü)#00000000", -5, "Invalid characters in payload"},
		{"raw(deadbeef)##9f8spxm", -5, "Multiple '#' symbols"},
		{"raw()", -5, "Raw script is not hex"},
		{"raw(abc)", -5, "Raw script is not hex"},
		{"raw(xy)", -5, "Raw script is not hex"},
		{"addr(bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080)", -5, "Address is not valid"},
		{"addr(1BoatSLRHtKNngkdXEeobR76b53LETtpyT)", -5, "Address is not valid"},
		{"addr(nonsense)", -5, "Address is not valid"},
		{"wpkh(02f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9)", -8,
			"wpkh() descriptors are not supported: satnode answers addr() and raw() descriptors only"},
		{"tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)", -8,
			"tr() descriptors are not supported: satnode answers addr() and raw() descriptors only"},
		{"nope(1)", -5, "'nope(1)' is not a valid descriptor function"},
		{"raw", -5, "'raw' is not a valid descriptor function"},
		{"raw(00", -5, "'raw(00' is not a valid descriptor function"},
		{"raw(00),raw(51)", -5, "Invalid descriptor: unexpected ',raw(51)' after raw()"},
	} {
		_, err := parseDescriptor(tc.desc, net)
		if err == nil || err.Code != tc.code || err.Message != tc.msg {
			t.Errorf("%s: %v, want %d %q", tc.desc, err, tc.code, tc.msg)
		}
	}
	addrScript := func(a string) string {
		addr, err := btcutil.DecodeAddress(a, net)
		if err != nil {
			t.Fatal(err)
		}
		s, err := txscript.PayToAddrScript(addr)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(s)
	}
	for desc, script := range map[string]string{
		"raw(deadbeef)#89f8spxm": "deadbeef",
		"raw(DEADBEEF)":          "deadbeef",
		"addr(mkmZxiEcEd8ZqjQWVZuC6so5dFMKEFpN2j)#02wpgw69": addrScript("mkmZxiEcEd8ZqjQWVZuC6so5dFMKEFpN2j"),
		"addr(tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx)":  "0014751e76e8199196d454941c45d1b3a323f1433bd6",
	} {
		got, err := parseDescriptor(desc, net)
		if err != nil || hex.EncodeToString(got) != script {
			t.Errorf("%s: %x %v, want %s", desc, got, err, script)
		}
	}
}

// TestInferDescriptor: the descriptor Core's InferDescriptor gives each
// kind of output script, with its checksum.
func TestInferDescriptor(t *testing.T) {
	net := &chaincfg.RegressionNetParams
	g := "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" // the generator point
	gx := g[2:]
	h := "751e76e8199196d454941c45d1b3a323f1433bd6"
	zeroTaproot, err := btcutil.NewAddressTaproot(make([]byte, 32), net)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ script, want string }{
		{"21" + g + "ac", "pk(" + g + ")"},
		{"5121" + g + "21" + g + "52ae", "multi(1," + g + "," + g + ")"},
		{"5120" + gx, "rawtr(" + gx + ")"},
		{"5120" + strings.Repeat("00", 32), "addr(" + zeroTaproot.EncodeAddress() + ")"}, // x = 0 is not on the curve
		{"76a914" + h + "88ac", "addr(mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r)"},
		{"0014" + h, "addr(bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080)"},
		{"6a0401020304", "raw(6a0401020304)"},
		{"", "raw()"},
	} {
		script, _ := hex.DecodeString(tc.script)
		info := describe(script, net)
		payload, sum, _ := strings.Cut(info.desc, "#")
		if payload != tc.want || sum != descriptorChecksum(tc.want) {
			t.Errorf("%s: %s, want %s#%s", tc.script, info.desc, tc.want, descriptorChecksum(tc.want))
		}
		if class := txscript.GetScriptClass(script); class.String() != info.typ {
			t.Errorf("%s: type %s, want %s", tc.script, info.typ, class)
		}
	}
}
