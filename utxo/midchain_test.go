package utxo_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/utxotest"
)

// midBlock is a mid-chain mainnet fixture with the outputs it spends.
type midBlock struct {
	height int32
	raw    []byte
	coins  []utxo.SeedCoin // in input order
	times  map[int32]uint32
	// hasTimes: the fixture gives creation times, so coin-days destroyed
	// can be checked.
	hasTimes bool
}

func loadMid(t *testing.T, height int32) *midBlock {
	t.Helper()
	m := &midBlock{height: height, times: map[int32]uint32{}}
	var err error
	switch height {
	case 277647:
		var data []byte
		if data, err = utxotest.ReadFile("block-277647.blk.bz2"); err == nil {
			var blocks [][]byte
			if blocks, err = utxotest.SplitBlk(data); err == nil {
				m.raw = blocks[0]
				m.coins, err = loadUtxostore(m.raw)
			}
		}
	case 300025:
		if m.raw, err = utxotest.ReadFile("block-300025.raw"); err == nil {
			m.coins, err = loadPrevoutsBin(m.raw)
		}
	case 367891, 866342:
		if m.raw, err = utxotest.ReadFile(fmt.Sprintf("block-%d.raw.gz", height)); err == nil {
			m.coins, err = loadPrevoutsJSON(m, fmt.Sprintf("block-%d.prevouts.json.gz", height))
			m.hasTimes = true
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func msgOf(t testing.TB, raw []byte) *wire.MsgBlock {
	t.Helper()
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return &msg
}

// inputs lists the block's inputs in order, with inBlock[i] set where input
// i spends an output created earlier in the same block (those are not part
// of a seed).
func inputs(raw []byte) (ops []utxo.Outpoint, inBlock []bool, err error) {
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, nil, err
	}
	own := map[[32]byte]bool{}
	for _, tx := range msg.Transactions {
		own[tx.TxHash()] = true
	}
	for _, tx := range msg.Transactions[1:] {
		for _, in := range tx.TxIn {
			ops = append(ops, utxo.Outpoint{Hash: in.PreviousOutPoint.Hash, Index: in.PreviousOutPoint.Index})
			inBlock = append(inBlock, own[in.PreviousOutPoint.Hash])
		}
	}
	return ops, inBlock, nil
}

// loadUtxostore reads btcd's blockchain/testdata utxostore: txid ‖ u32le
// index ‖ u32le length ‖ VARINT(height*2+coinbase) ‖ VARINT(compressed
// amount) ‖ btcd-compressed script (kinds 0-5 as Core, then raw length+6).
func loadUtxostore(raw []byte) ([]utxo.SeedCoin, error) {
	data, err := utxotest.ReadFile("block-277647.utxostore.bz2")
	if err != nil {
		return nil, err
	}
	byOp := map[utxo.Outpoint]utxo.Coin{}
	for len(data) > 0 {
		if len(data) < 40 {
			return nil, fmt.Errorf("utxostore: truncated")
		}
		var op utxo.Outpoint
		copy(op.Hash[:], data[:32])
		op.Index = binary.LittleEndian.Uint32(data[32:36])
		n := binary.LittleEndian.Uint32(data[36:40])
		entry := data[40 : 40+n]
		data = data[40+n:]
		code, k, err := utxo.ReadVLQ(entry)
		if err != nil {
			return nil, err
		}
		entry = entry[k:]
		amt, k, err := utxo.ReadVLQ(entry)
		if err != nil {
			return nil, err
		}
		entry = entry[k:]
		value, err := utxo.DecompressAmount(amt)
		if err != nil {
			return nil, err
		}
		script, err := btcdScript(entry)
		if err != nil {
			return nil, err
		}
		byOp[op] = utxo.Coin{Value: value, Script: script, Height: int32(code >> 1), Coinbase: code&1 == 1}
	}
	ops, inBlock, err := inputs(raw)
	if err != nil {
		return nil, err
	}
	var coins []utxo.SeedCoin
	for i, op := range ops {
		c, ok := byOp[op]
		if inBlock[i] {
			continue
		}
		if !ok {
			return nil, fmt.Errorf("utxostore lacks %s", op)
		}
		coins = append(coins, utxo.SeedCoin{Outpoint: op, Coin: c})
	}
	return coins, nil
}

func btcdScript(b []byte) ([]byte, error) {
	kind, k, err := utxo.ReadVLQ(b)
	if err != nil {
		return nil, err
	}
	p := b[k:]
	switch {
	case kind == 0:
		return append(append([]byte{0x76, 0xa9, 20}, p[:20]...), 0x88, 0xac), nil
	case kind == 1:
		return append(append([]byte{0xa9, 20}, p[:20]...), 0x87), nil
	case kind == 2 || kind == 3:
		return append(append([]byte{33, byte(kind)}, p[:32]...), 0xac), nil
	case kind == 4 || kind == 5:
		y, ok := utxo.DecompressY(p[:32], kind == 5)
		if !ok {
			return nil, fmt.Errorf("bad point")
		}
		s := append([]byte{65, 4}, p[:32]...)
		return append(append(s, y...), 0xac), nil
	}
	return append([]byte(nil), p[:kind-6]...), nil
}

// loadPrevoutsBin reads bcoin's prevouts: i64le value ‖ compactsize script,
// in input order. It has no heights: the coins are seeded at height 0,
// not coinbase.
func loadPrevoutsBin(raw []byte) ([]utxo.SeedCoin, error) {
	data, err := utxotest.ReadFile("block-300025.prevouts.bin")
	if err != nil {
		return nil, err
	}
	ops, inBlock, err := inputs(raw)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(data)
	var coins []utxo.SeedCoin
	for i, op := range ops {
		var v int64
		if err := binary.Read(r, binary.LittleEndian, &v); err != nil {
			return nil, err
		}
		script, err := wire.ReadVarBytes(r, 0, 10_000, "script")
		if err != nil {
			return nil, err
		}
		if !inBlock[i] {
			coins = append(coins, utxo.SeedCoin{Outpoint: op, Coin: utxo.Coin{Value: v, Script: script}})
		}
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("prevouts.bin: %d trailing bytes", r.Len())
	}
	return coins, nil
}

// loadPrevoutsJSON reads Floresta's prevouts list, in input order.
func loadPrevoutsJSON(m *midBlock, name string) ([]utxo.SeedCoin, error) {
	data, err := utxotest.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var list []struct {
		TxOut struct {
			Value        int64  `json:"value"`
			ScriptPubKey string `json:"script_pubkey"`
		} `json:"txout"`
		IsCoinbase     bool   `json:"is_coinbase"`
		CreationHeight int32  `json:"creation_height"`
		CreationTime   uint32 `json:"creation_time"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	ops, inBlock, err := inputs(m.raw)
	if err != nil {
		return nil, err
	}
	if len(ops) != len(list) {
		return nil, fmt.Errorf("%s: %d prevouts for %d inputs", name, len(list), len(ops))
	}
	var coins []utxo.SeedCoin
	for i, p := range list {
		script, err := hex.DecodeString(p.TxOut.ScriptPubKey)
		if err != nil {
			return nil, err
		}
		m.times[p.CreationHeight] = p.CreationTime
		if inBlock[i] {
			continue // created earlier in this block
		}
		coins = append(coins, utxo.SeedCoin{Outpoint: ops[i], Coin: utxo.Coin{Value: p.TxOut.Value, Script: script,
			Height: p.CreationHeight, Coinbase: p.IsCoinbase}})
	}
	return coins, nil
}

// TestMidChainBlocks seeds a store with the outputs each mid-chain block
// spends, connects the block, and checks its fees, counts, coin-days
// destroyed, and the resulting set (totals and MuHash) against the
// reference model seeded the same way. The fees are also checked against
// what the miner claimed: coinbase outputs minus subsidy.
func TestMidChainBlocks(t *testing.T) {
	for _, height := range []int32{277647, 300025, 367891, 866342} {
		t.Run(fmt.Sprint(height), func(t *testing.T) {
			m := loadMid(t, height)
			msg := msgOf(t, m.raw)
			b := decode(t, m.raw)
			s := memstore.New()
			e := openEngine(t, s, utxo.Config{})
			base := utxo.SeedBase{Height: height - 1, Hash: msg.Header.PrevBlock, Times: m.times}
			if err := e.Seed(base, m.coins); err != nil {
				t.Fatal(err)
			}
			ref := newRefSet(t)
			var in int64
			for _, c := range m.coins {
				ref.add(c.Outpoint, c.Coin)
			}
			st, err := e.Connect(b)
			if err != nil {
				t.Fatal(err)
			}
			ref.connect(msg, height)

			var out, cb int64
			var nin, nout, added uint32
			var cdd utxo.U128
			bt := uint32(msg.Header.Timestamp.Unix())
			spent := map[utxo.Outpoint]utxo.Coin{}
			for _, c := range m.coins {
				spent[c.Outpoint] = c.Coin
			}
			created := map[utxo.Outpoint]int64{}
			for i, tx := range msg.Transactions {
				for j, o := range tx.TxOut {
					nout++
					if !utxo.IsUnspendable(o.PkScript) {
						added++
						created[utxo.Outpoint{Hash: tx.TxHash(), Index: uint32(j)}] = o.Value
					}
					if i == 0 {
						cb += o.Value
					} else {
						out += o.Value
					}
				}
				if i == 0 {
					continue
				}
				for _, txin := range tx.TxIn {
					nin++
					op := utxo.Outpoint{Hash: txin.PreviousOutPoint.Hash, Index: txin.PreviousOutPoint.Index}
					if c, ok := spent[op]; ok {
						in += c.Value
						if ct, ok := m.times[c.Height]; ok && bt > ct {
							cdd = cdd.Add(utxo.U128{Lo: uint64(c.Value) * uint64(bt-ct)})
						}
					} else {
						in += created[op]
					}
				}
			}
			fees := in - out
			subsidy := utxo.MainNet().Subsidy(height)
			if st.Fees != fees || st.InAmount != in || st.OutAmount != out {
				t.Fatalf("fees %d in %d out %d, want %d %d %d", st.Fees, st.InAmount, st.OutAmount, fees, in, out)
			}
			// Every one of these miners claimed exactly subsidy + fees, an
			// independent check of the fee total.
			if cb != subsidy+fees {
				t.Fatalf("miner claimed %d, subsidy+fees is %d", cb, subsidy+fees)
			}
			if st.Txs != uint32(len(msg.Transactions)) || st.Inputs != nin || st.Outputs != nout ||
				st.SetAdded != added || st.SetSpent != nin || st.CoinbaseAmount != cb {
				t.Fatalf("counts %+v, want txs %d inputs %d outputs %d added %d", st, len(msg.Transactions), nin, nout, added)
			}
			if m.hasTimes && st.CoinDaysDestroyed != cdd {
				t.Fatalf("coin-days destroyed %v, want %v", st.CoinDaysDestroyed, cdd)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			rec, err := utxo.NewReader(s).BlockRecord(height)
			if err != nil {
				t.Fatal(err)
			}
			if rec.MuHash != ref.digests[0] || rec.Totals.TxOuts != uint64(len(ref.coins)) || rec.Totals.TotalAmount != ref.amount {
				t.Fatalf("set after the block differs from the reference")
			}
			t.Logf("txs %d inputs %d outputs %d fees %d sat (miner claimed %d of %d) cdd %v",
				st.Txs, st.Inputs, st.Outputs, st.Fees, cb-subsidy, fees, st.CoinDaysDestroyed)
		})
	}
}

// TestMidChainDuplicatedTail appends a copy of the last transaction of
// block 277647 (213 transactions: an odd count, so the merkle root does not
// change) and expects the CVE-2012-2459 rejection with the seeded store
// unchanged.
func TestMidChainDuplicatedTail(t *testing.T) {
	m := loadMid(t, 277647)
	msg := msgOf(t, m.raw)
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{})
	if err := e.Seed(utxo.SeedBase{Height: m.height - 1, Hash: msg.Header.PrevBlock}, m.coins); err != nil {
		t.Fatal(err)
	}
	before := flushedDigest(t, e, s)
	msg.Transactions = append(msg.Transactions, msg.Transactions[len(msg.Transactions)-1])
	b, err := utxo.NewBlock(msg)
	if err != nil {
		t.Fatal(err)
	}
	if b.Header.MerkleRoot != msgOf(t, m.raw).Header.MerkleRoot {
		t.Fatal("test setup: header changed")
	}
	_, err = e.Connect(b)
	wantRule(t, err, utxo.ErrMutatedMerkle)
	if flushedDigest(t, e, s) != before {
		t.Fatal("rejected block changed the store")
	}
	if _, err := e.Connect(decode(t, m.raw)); err != nil {
		t.Fatalf("genuine block: %v", err)
	}
}

// TestFixtureBlocksCheck decodes every large fixture block and runs the
// context-free checks (proof of work, merkle root, witness commitment).
func TestFixtureBlocksCheck(t *testing.T) {
	p := utxo.MainNet()
	for _, f := range []struct {
		name   string
		height int32
	}{
		{"block-300025.raw", 300025}, {"block-367891.raw.gz", 367891}, {"block-413567.raw.gz", 413567},
		{"block-540107.raw.gz", 540107}, {"block-574200.raw.gz", 574200}, {"block-702861.raw.gz", 702861},
		{"block-866342.raw.gz", 866342},
	} {
		raw, err := utxotest.ReadFile(f.name)
		if err != nil {
			t.Fatal(err)
		}
		b := decode(t, raw)
		if err := utxo.CheckBlock(b, p, f.height); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		if f.height >= p.SegwitHeight && !b.HasWitness {
			t.Errorf("%s: expected witness data", f.name)
		}
		t.Logf("%s: %d txs, %d bytes, weight %d, witness %v", f.name, len(b.Txs), b.Size, b.Weight(), b.HasWitness)
	}
}
