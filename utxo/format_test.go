package utxo_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// unhex decodes the annotated hex of the format comments: the first token
// of each line, spaces removed.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWorkedExamples checks the worked examples of undo.go and coin.go
// against the bytes the engine stores for mainnet blocks 0–170.
func TestWorkedExamples(t *testing.T) {
	raws := mainnetBlocks(t)
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{})
	for _, raw := range raws[:171] {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	undo := unhex(t, `02
		82501c1178fa0b222c1f3d474ec726b832013f0a532b44bb620cce8624a5feb1
		01 00
		00
		169e1e83e930853391bc6f35f605c6754cfead57cf8387639d3b4096c54f18f4
		02 00 01
		01
		c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704
		00
		13 32 05 11db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c`)
	got, err := s.Get([]byte{'u', 1, 0, 0, 0, 170})
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != hex.EncodeToString(undo) {
		t.Fatalf("undo record of block 170:\n got %x\nwant %x", got, undo)
	}

	coinBytes := unhex(t, `13 32 05 11db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c`)
	coin, err := utxo.DecodeCoin(coinBytes)
	if err != nil {
		t.Fatal(err)
	}
	out := decode(t, raws[9]).Txs[0].TxOut[0]
	if coin.Height != 9 || !coin.Coinbase || coin.Value != out.Value || hex.EncodeToString(coin.Script) != hex.EncodeToString(out.PkScript) {
		t.Fatalf("decoded %+v, block 9 has %d %x", coin, out.Value, out.PkScript)
	}
	if hex.EncodeToString(utxo.EncodeCoin(&coin)) != hex.EncodeToString(coinBytes) {
		t.Fatal("re-encoding differs")
	}
	rec := unhex(t, `01
		eea2d48d2fced4346842835c659e493d323f06d4034469a8905714d100000000
		308e94db54762245be551d180e6d8128581c98da5f083256b44f715f69ee97b4
		802b 809b27
		b0bbfe94cf00 b0e19ec49700
		a49faec700
		a49faec700 a49faec700 b0bbfe94cf00
		a49faec700 00 00 00
		83caa9f151 826a 8e28 02 01 03 03 01
		a49faec700 a49faec700 a49faec700 00
		a49faec700
		000000000000000000049417d5dc8400`)
	if got, err := s.Get([]byte{'b', 1, 0, 0, 0, 170}); err != nil || hex.EncodeToString(got) != hex.EncodeToString(rec) {
		t.Fatalf("block record of block 170:\n got %x\nwant %x (%v)", got, rec, err)
	}

	// Block 170's coinbase is in the set under its documented key.
	key := unhex(t, `63 01 82501c1178fa0b222c1f3d474ec726b832013f0a532b44bb620cce8624a5feb1 00`)
	if _, err := s.Get(key); err != nil {
		t.Fatalf("coin key %x: %v", key, err)
	}
}
