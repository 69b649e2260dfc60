package btcheaders

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// TestStoreFormat checks the worked example in doc.go byte for byte.
func TestStoreFormat(t *testing.T) {
	hdrs := mainnetHeaders(t)
	tr := mustNew(t, &chaincfg.MainNetParams, StartPoint{})
	mustAdd(t, tr, &hdrs[1])
	s := memstore.New()
	saveTo(t, s)(tr)
	want := []string{
		"486d01=" +
			"d9b4bef9" +
			"00000000" +
			"6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000" +
			"0000000000000000000000000000000000000000000000000000000100010001" +
			"0000000000000002",
		"486e01" + "00000000" + "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000" + "=" +
			"01000000" + strings.Repeat("00", 32) +
			"3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a" +
			"29ab5f49" + "ffff001d" + "1dac2b7c" +
			"0000000000000000",
		"486e01" + "00000001" + "4860eb18bf1b1620e37e9490fc8a427514416fd75159ab86688e9a8300000000" + "=" +
			"01000000" + "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000" +
			"982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e" +
			"61bc6649" + "ffff001d" + "01e36299" +
			"0000000000000001",
	}
	got := dump(t, s)
	if !slicesEqual(got, want) {
		t.Fatalf("stored\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same bytes load back into the same tree.
	s2 := memstore.New()
	for _, e := range want {
		k, v, _ := strings.Cut(e, "=")
		kb, _ := hex.DecodeString(k)
		vb, _ := hex.DecodeString(v)
		putRaw(t, s2, kb, vb)
	}
	loaded, err := Load(s2, &chaincfg.MainNetParams, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	equalTrees(t, tr, loaded)
	// Root is pinned too, so a change to what it covers is deliberate.
	if r := tr.Root(); hex.EncodeToString(r[:]) != "2a3e11013009f3733467f07ccb204fb9f171b1a8bf6a058d7d1d04dbba06dbd3" {
		t.Fatalf("root %x", r)
	}
}

func putRaw(t testing.TB, s *memstore.Store, k, v []byte) {
	if err := s.Update(len(k)+len(v)+64, false, func(b utxo.Batch) error { b.Put(k, v); return nil }); err != nil {
		t.Fatal(err)
	}
}
