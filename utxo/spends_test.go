package utxo_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/memstore"
)

// spender is where the chain itself says an outpoint was spent.
type spender struct {
	txid   chainhash.Hash
	vin    uint32
	height int32
}

// TestFindSpend connects a generated regtest chain with an undo depth of
// 10 and checks FindSpend and BlockSpends against the spends the blocks
// themselves make: every spend of the last 10 blocks is found with its
// transaction, input and height; an older spend, an unspent output and an
// outpoint that never existed are all "not found after 10 blocks", however
// deep the caller asks to search; and BlockSpends gives each input's coin
// inside the window and ErrNotFound below it.
func TestFindSpend(t *testing.T) {
	const undoDepth = 10
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 120
	cfg.TxsPerBlock = 8
	cfg.PreActivationTxsPerBlock = 8
	gen, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), UndoDepth: undoDepth})
	var blocks []*wire.MsgBlock
	if err := gen.Each(func(b *wire.MsgBlock) error {
		var buf bytes.Buffer
		if err := b.Serialize(&buf); err != nil {
			return err
		}
		if _, err := e.Connect(decode(t, buf.Bytes())); err != nil {
			return err
		}
		blocks = append(blocks, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	tip := int32(len(blocks) - 1)
	spends := map[utxo.Outpoint]spender{}
	outputs := map[utxo.Outpoint]int64{}
	for h, b := range blocks {
		for _, tx := range b.Transactions {
			txid := tx.TxHash()
			if !blockchainIsCoinbase(tx) {
				for i, in := range tx.TxIn {
					op := utxo.Outpoint{Hash: in.PreviousOutPoint.Hash, Index: in.PreviousOutPoint.Index}
					spends[op] = spender{txid, uint32(i), int32(h)}
				}
			}
			for i, out := range tx.TxOut {
				outputs[utxo.Outpoint{Hash: txid, Index: uint32(i)}] = out.Value
			}
		}
	}
	r := utxo.NewReader(s)
	inWindow, outside := 0, 0
	for op, want := range spends {
		got, searched, err := r.FindSpend(op, tip, undoDepth+50)
		if err != nil {
			t.Fatal(err)
		}
		if want.height > tip-undoDepth {
			inWindow++
			if got == nil || got.TxID != want.txid || got.Vin != want.vin || got.Height != want.height {
				t.Fatalf("spend of %s: got %+v, want %+v", op, got, want)
			}
			if searched != tip-want.height+1 {
				t.Fatalf("spend of %s at %d: searched %d blocks", op, want.height, searched)
			}
			continue
		}
		outside++
		if got != nil || searched != undoDepth {
			t.Fatalf("spend of %s at %d, below the window: got %+v after %d blocks", op, want.height, got, searched)
		}
	}
	if inWindow < 20 || outside < 50 {
		t.Fatalf("too few spends to check: %d in the window, %d below", inWindow, outside)
	}
	unspent := 0
	for op := range outputs {
		if _, spent := spends[op]; spent {
			continue
		}
		unspent++
		if got, searched, err := r.FindSpend(op, tip, undoDepth); err != nil || got != nil || searched != undoDepth {
			t.Fatalf("unspent %s: %+v after %d blocks, %v", op, got, searched, err)
		}
	}
	never := utxo.Outpoint{Hash: chainhash.DoubleHashH([]byte("never")), Index: 3}
	if got, searched, err := r.FindSpend(never, tip, undoDepth); err != nil || got != nil || searched != undoDepth {
		t.Fatalf("an outpoint that never existed: %+v after %d blocks, %v", got, searched, err)
	}
	// A shallower search stops where it was told to.
	if got, searched, err := r.FindSpend(never, tip, 3); err != nil || got != nil || searched != 3 {
		t.Fatalf("depth 3: %+v after %d blocks, %v", got, searched, err)
	}
	for _, bad := range [][2]int32{{-1, 5}, {tip, 0}, {tip, -7}} {
		if _, _, err := r.FindSpend(never, bad[0], bad[1]); !errors.Is(err, utxo.ErrSpendSearchArgs) {
			t.Fatalf("FindSpend(tip %d, depth %d): %v", bad[0], bad[1], err)
		}
	}
	t.Logf("%d spends in the last %d blocks found, %d older and %d unspent outputs not", inWindow, undoDepth, outside, unspent)

	for h := tip; h >= 0; h-- {
		got, err := r.BlockSpends(h)
		if h <= tip-undoDepth {
			if !utxo.IsNotFound(err) {
				t.Fatalf("BlockSpends(%d), below the window: %v", h, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		txs := blocks[h].Transactions
		if len(got) != len(txs) {
			t.Fatalf("BlockSpends(%d): %d transactions, want %d", h, len(got), len(txs))
		}
		for i, tx := range txs {
			if got[i].TxID != tx.TxHash() {
				t.Fatalf("BlockSpends(%d) tx %d: txid %s", h, i, got[i].TxID)
			}
			if i == 0 {
				if len(got[i].Coins) != 0 {
					t.Fatalf("BlockSpends(%d): the coinbase spent %d coins", h, len(got[i].Coins))
				}
				continue
			}
			if len(got[i].Coins) != len(tx.TxIn) {
				t.Fatalf("BlockSpends(%d) tx %d: %d coins for %d inputs", h, i, len(got[i].Coins), len(tx.TxIn))
			}
			for j, in := range tx.TxIn {
				c := got[i].Coins[j]
				op := utxo.Outpoint{Hash: in.PreviousOutPoint.Hash, Index: in.PreviousOutPoint.Index}
				if c.Outpoint != op || c.Coin.Value != outputs[op] {
					t.Fatalf("BlockSpends(%d) tx %d input %d: %+v, want %s worth %d", h, i, j, c, op, outputs[op])
				}
			}
		}
	}
}

func blockchainIsCoinbase(tx *wire.MsgTx) bool {
	return len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
		tx.TxIn[0].PreviousOutPoint.Hash == chainhash.Hash{}
}

// oneRecord is a KVReader holding one undo record at height 5.
type oneRecord []byte

func (o oneRecord) Get(key []byte) ([]byte, error) {
	if bytes.Equal(key, []byte{'u', 1, 0, 0, 0, 5}) {
		return o, nil
	}
	return nil, utxo.ErrNotFound
}

func (o oneRecord) Iterate(_, _ []byte) utxo.Iterator { return emptyIter{} }

type emptyIter struct{}

func (emptyIter) Next() bool    { return false }
func (emptyIter) Key() []byte   { return nil }
func (emptyIter) Value() []byte { return nil }
func (emptyIter) Err() error    { return nil }
func (emptyIter) Release()      {}

// FuzzFindSpend feeds arbitrary bytes as an undo record: FindSpend and
// BlockSpends never panic, and when BlockSpends accepts the record,
// FindSpend finds the first input spending each of its outpoints, with
// that input's transaction and index.
func FuzzFindSpend(f *testing.F) {
	// undo.go's worked example: mainnet block 170.
	block170, _ := hex.DecodeString(strings.Join([]string{"02",
		"82501c1178fa0b222c1f3d474ec726b832013f0a532b44bb620cce8624a5feb1", "0100", "00",
		"169e1e83e930853391bc6f35f605c6754cfead57cf8387639d3b4096c54f18f4", "020001", "01",
		"c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704", "00",
		"133205", "11db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c"}, ""))
	f.Add(block170, []byte{0})
	f.Add([]byte{0}, []byte{})
	f.Add(block170[:len(block170)-3], block170[:33])
	f.Fuzz(func(t *testing.T, record, opBytes []byte) {
		r := utxo.NewReader(oneRecord(record))
		var probe utxo.Outpoint
		copy(probe.Hash[:], opBytes)
		if len(opBytes) > 32 {
			probe.Index = uint32(opBytes[32])
		}
		_, _, _ = r.FindSpend(probe, 5, 3)
		txs, err := r.BlockSpends(5)
		if err != nil {
			return
		}
		seen := map[utxo.Outpoint]bool{}
		for _, tx := range txs {
			for j, c := range tx.Coins {
				if seen[c.Outpoint] {
					continue
				}
				seen[c.Outpoint] = true
				got, searched, err := r.FindSpend(c.Outpoint, 5, 3)
				if err != nil || searched != 1 || got == nil || got.TxID != tx.TxID || got.Vin != uint32(j) || got.Height != 5 {
					t.Fatalf("FindSpend(%s) in an accepted record: %+v after %d, %v; want %s input %d",
						c.Outpoint, got, searched, err, tx.TxID, j)
				}
			}
		}
	})
}
