package utxo

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// SetTotals are the cumulative counters of Bitcoin Core's coinstatsindex
// (index/coinstatsindex.cpp, DBVal), kept for every height so that
// gettxoutsetinfo can answer for any past block. Amounts are in satoshis.
type SetTotals struct {
	TxOuts                    uint64 // unspent outputs in the set
	BogoSize                  uint64 // Σ GetBogoSize over the set
	TotalAmount               int64  // Σ value over the set
	TotalSubsidy              int64  // Σ block subsidy, genesis included
	TotalUnspendable          int64  // genesis + bip30 + scripts + unclaimed rewards
	TotalPrevoutSpent         int64  // Σ value of spent outputs
	TotalNewOutputsExCoinbase int64  // Σ value of added non-coinbase outputs
	TotalCoinbase             int64  // Σ value of added coinbase outputs
	UnspendableGenesis        int64  // the genesis coinbase, never spendable
	UnspendableBIP30          int64  // subsidies of the two overwritten mainnet coinbases
	UnspendableScripts        int64  // value sent to provably unspendable scripts
	UnspendableUnclaimed      int64  // subsidy and fees the miners did not claim
}

// U128 is an unsigned 128-bit integer, for coin-days destroyed: a sum of
// satoshis × seconds overflows 64 bits on mainnet.
type U128 struct{ Hi, Lo uint64 }

// Add returns u + v (wrapping at 2^128, which no real chain approaches).
func (u U128) Add(v U128) U128 {
	lo, c := bits.Add64(u.Lo, v.Lo, 0)
	hi, _ := bits.Add64(u.Hi, v.Hi, c)
	return U128{hi, lo}
}

// mulU64 returns a × b as a U128.
func mulU64(a, b uint64) U128 {
	hi, lo := bits.Mul64(a, b)
	return U128{hi, lo}
}

// BlockStats are the per-block statistics the engine records.
type BlockStats struct {
	Height int32
	Hash   chainhash.Hash
	Time   uint32
	Size   uint32 // serialized size with witness
	Weight uint32
	Txs    uint32
	// Inputs counts spent outputs (coinbase inputs excluded); Outputs counts
	// every output, including unspendable ones.
	Inputs  uint32
	Outputs uint32
	// SetAdded and SetSpent count coins added to and removed from the set
	// (outputs created and spent in the same block count in both).
	SetAdded uint32
	SetSpent uint32
	// InAmount is Σ value of spent outputs, OutAmount Σ value of the outputs
	// of non-coinbase transactions, CoinbaseAmount Σ coinbase outputs.
	InAmount       int64
	OutAmount      int64
	CoinbaseAmount int64
	Fees           int64 // InAmount − OutAmount
	Subsidy        int64
	// CoinDaysDestroyed is Σ value × (block time − creation block time) over
	// spent outputs, in satoshi-seconds, with negative ages (block times are
	// not monotonic) counted as zero. Divide by 86400×10⁸ for BTC-days.
	CoinDaysDestroyed U128
}

// BlockRecord is what the store keeps for every connected height.
type BlockRecord struct {
	Hash   chainhash.Hash
	MuHash [32]byte // SHA-256 output in internal order; Core shows it reversed
	Totals SetTotals
	Stats  BlockStats
}

// Block record value (key 'b' 01 u32be(height)):
//
//	field    size  encoding
//	version  1     01
//	hash     32    block hash, internal byte order
//	muhash   32    MuHash3072 digest of the set after this block
//	totals   var   12 × VARINT; the signed amounts zig-zag encoded
//	stats    var   VARINT: time, size, weight, txs, inputs, outputs, set added, set spent;
//	               zig-zag VARINT: in amount, out amount, coinbase amount, fees, subsidy;
//	               coin-days destroyed as u64be hi ‖ u64be lo
//
// Worked example, the record of mainnet block 170 (as format_test.go checks):
//
//	01                                        version
//	eea2d48d2fced4346842835c659e493d323f06d4034469a8905714d100000000
//	                                          hash 00000000d1145790…8dd4a2ee
//	308e94db54762245be551d180e6d8128581c98da5f083256b44f715f69ee97b4
//	                                          muhash b497ee69…db948e30
//	802b 809b27                               txouts 171, bogosize 20007
//	b0bbfe94cf00 b0e19ec49700                 amount 8500 BTC, subsidy 8550 BTC (zig-zag)
//	a49faec700                                unspendable 50 BTC
//	a49faec700 a49faec700 b0bbfe94cf00        prevout spent 50, new outputs 50, coinbase 8500
//	a49faec700 00 00 00                       unspendables: genesis 50, bip30, scripts, unclaimed
//	83caa9f151 826a 8e28 02 01 03 03 01       time 1231731025, size 490, weight 1960,
//	                                          2 txs, 1 input, 3 outputs, 3 added, 1 spent
//	a49faec700 a49faec700 a49faec700 00       in 50 BTC, out 50, coinbase 50, fees 0,
//	a49faec700                                subsidy 50
//	000000000000000000049417d5dc8400          coin-days destroyed: 1.28873e15 sat·s (149.16 BTC-days)
const blockRecordVersion = 1

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func (r *BlockRecord) encode() []byte {
	b := make([]byte, 0, 160)
	b = append(b, blockRecordVersion)
	b = append(b, r.Hash[:]...)
	b = append(b, r.MuHash[:]...)
	t := &r.Totals
	b = putVLQ(b, t.TxOuts)
	b = putVLQ(b, t.BogoSize)
	for _, v := range []int64{t.TotalAmount, t.TotalSubsidy, t.TotalUnspendable, t.TotalPrevoutSpent,
		t.TotalNewOutputsExCoinbase, t.TotalCoinbase, t.UnspendableGenesis, t.UnspendableBIP30,
		t.UnspendableScripts, t.UnspendableUnclaimed} {
		b = putVLQ(b, zigzag(v))
	}
	s := &r.Stats
	for _, v := range []uint32{s.Time, s.Size, s.Weight, s.Txs, s.Inputs, s.Outputs, s.SetAdded, s.SetSpent} {
		b = putVLQ(b, uint64(v))
	}
	for _, v := range []int64{s.InAmount, s.OutAmount, s.CoinbaseAmount, s.Fees, s.Subsidy} {
		b = putVLQ(b, zigzag(v))
	}
	b = binary.BigEndian.AppendUint64(b, s.CoinDaysDestroyed.Hi)
	return binary.BigEndian.AppendUint64(b, s.CoinDaysDestroyed.Lo)
}

// decodeBlockRecord decodes a block record stored for height.
func decodeBlockRecord(height int32, b []byte) (*BlockRecord, error) {
	if len(b) < 65 || b[0] != blockRecordVersion {
		return nil, malformedf("block record %d: bad version or length", height)
	}
	r := &BlockRecord{}
	copy(r.Hash[:], b[1:33])
	copy(r.MuHash[:], b[33:65])
	d := decoder{b: b[65:]}
	t := &r.Totals
	t.TxOuts = d.vlq()
	t.BogoSize = d.vlq()
	for _, p := range []*int64{&t.TotalAmount, &t.TotalSubsidy, &t.TotalUnspendable, &t.TotalPrevoutSpent,
		&t.TotalNewOutputsExCoinbase, &t.TotalCoinbase, &t.UnspendableGenesis, &t.UnspendableBIP30,
		&t.UnspendableScripts, &t.UnspendableUnclaimed} {
		*p = unzigzag(d.vlq())
	}
	s := &r.Stats
	s.Height, s.Hash = height, r.Hash
	for _, p := range []*uint32{&s.Time, &s.Size, &s.Weight, &s.Txs, &s.Inputs, &s.Outputs, &s.SetAdded, &s.SetSpent} {
		*p = d.u32()
	}
	for _, p := range []*int64{&s.InAmount, &s.OutAmount, &s.CoinbaseAmount, &s.Fees, &s.Subsidy} {
		*p = unzigzag(d.vlq())
	}
	s.CoinDaysDestroyed.Hi = d.be64()
	s.CoinDaysDestroyed.Lo = d.be64()
	if d.err != nil {
		return nil, malformedf("block record %d: %v", height, d.err)
	}
	if len(d.b) != 0 {
		return nil, malformedf("block record %d: %d trailing bytes", height, len(d.b))
	}
	return r, nil
}

// decoder reads a sequence of fields, remembering the first error so the
// callers can decode a whole record and check once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) vlq() uint64 {
	if d.err != nil {
		return 0
	}
	v, n, err := readVLQ(d.b)
	if err != nil {
		d.err = err
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32() uint32 {
	v := d.vlq()
	if v > 0xffffffff && d.err == nil {
		d.err = malformedf("value exceeds 32 bits")
	}
	return uint32(v)
}

func (d *decoder) be64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = malformedf("truncated")
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.err = malformedf("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// State is the consistency marker: the tip the store's contents describe and
// the MuHash accumulator for it. It is written in the same batch as every
// other change of a flush, so the store always describes exactly this tip.
type State struct {
	Network    string
	HasTip     bool
	TipHeight  int32
	TipHash    chainhash.Hash
	BaseHeight int32 // 0, or the height a seeded store starts at
	// NonBIP34Height is the lowest height whose coinbase does not start
	// with its BIP34 height push (a seeded store counts its base), or 0 if
	// every coinbase since genesis does: then no two coinbases can be equal,
	// so no transaction can repeat and BIP30's lookups can be skipped.
	NonBIP34Height int32
	// MuHash is the normalized accumulator of the set (numerator ×
	// denominator⁻¹ mod 2³⁰⁷²−1103717), 384 bytes little-endian.
	MuHash [384]byte
	// Tree: the store keeps the UTXO tree (tree.go), whose root and leaf
	// count are TreeRoot and TreeCount. Fixed when the store is created.
	Tree      bool
	TreeRoot  [32]byte
	TreeCount uint64
}

// State record value (key 'm' 01 "state"):
//
//	field     size  encoding
//	magic     4     "SNUS"
//	schema    1     01
//	network   var   VARINT(len) ‖ name
//	has tip   1     00 or 01
//	tip       36    u32be(height) ‖ hash
//	base      4     u32be(base height)
//	non-bip34 4     u32be(lowest height without a BIP34 coinbase, 0 if none)
//	muhash    384   normalized accumulator, little-endian
//	tree      1     00 (no UTXO tree) or 01                   (schema 2)
//	root      32    the UTXO tree's root                       (schema 2)
//	leaves    8     u64be(the tree's leaf count)               (schema 2)
//
// Schema 1 records (written before the tree existed) decode as a store
// without a tree.
const stateSchema = 2

var stateMagic = []byte("SNUS")

func (s *State) encode() []byte {
	b := make([]byte, 0, 4+1+1+len(s.Network)+1+36+8+384)
	b = append(b, stateMagic...)
	b = append(b, stateSchema)
	b = putVLQ(b, uint64(len(s.Network)))
	b = append(b, s.Network...)
	if s.HasTip {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(s.TipHeight))
	b = append(b, s.TipHash[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(s.BaseHeight))
	b = binary.BigEndian.AppendUint32(b, uint32(s.NonBIP34Height))
	b = append(b, s.MuHash[:]...)
	if s.Tree {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = append(b, s.TreeRoot[:]...)
	return binary.BigEndian.AppendUint64(b, s.TreeCount)
}

func decodeState(b []byte) (*State, error) {
	if len(b) < 5 || !bytes.Equal(b[:4], stateMagic) {
		return nil, malformedf("state record: bad magic")
	}
	if b[4] != 1 && b[4] != stateSchema {
		return nil, ErrSchema
	}
	schema := b[4]
	d := decoder{b: b[5:]}
	n := d.vlq()
	if n > 32 {
		return nil, malformedf("state record: network name too long")
	}
	s := &State{Network: string(d.bytes(int(n)))}
	flag := d.bytes(1)
	tip := d.bytes(36)
	base := d.bytes(4)
	nonBIP34 := d.bytes(4)
	mh := d.bytes(384)
	treeFlag, root, leaves := []byte{0}, make([]byte, 32), make([]byte, 8)
	if schema >= 2 {
		treeFlag, root, leaves = d.bytes(1), d.bytes(32), d.bytes(8)
	}
	if d.err != nil {
		return nil, malformedf("state record: %v", d.err)
	}
	if len(d.b) != 0 {
		return nil, malformedf("state record: trailing bytes")
	}
	if flag[0] > 1 {
		return nil, malformedf("state record: bad tip flag")
	}
	s.HasTip = flag[0] == 1
	s.TipHeight = int32(binary.BigEndian.Uint32(tip))
	copy(s.TipHash[:], tip[4:])
	s.BaseHeight = int32(binary.BigEndian.Uint32(base))
	s.NonBIP34Height = int32(binary.BigEndian.Uint32(nonBIP34))
	if s.TipHeight < 0 || s.BaseHeight < 0 || s.NonBIP34Height < 0 {
		return nil, malformedf("state record: negative height")
	}
	copy(s.MuHash[:], mh)
	if treeFlag[0] > 1 {
		return nil, malformedf("state record: bad tree flag")
	}
	s.Tree = treeFlag[0] == 1
	copy(s.TreeRoot[:], root)
	s.TreeCount = binary.BigEndian.Uint64(leaves)
	return s, nil
}

// AddrStats are the Esplora-style counters of one script hash.
type AddrStats struct {
	FundedCount uint64
	FundedSum   uint64
	SpentCount  uint64
	SpentSum    uint64
	TxCount     uint64
}

// Balance is the value of the script hash's unspent outputs.
func (a AddrStats) Balance() uint64 { return a.FundedSum - a.SpentSum }

// UTXOCount is the number of its unspent outputs.
func (a AddrStats) UTXOCount() uint64 { return a.FundedCount - a.SpentCount }

func (a *AddrStats) encode() []byte {
	b := make([]byte, 0, 24)
	for _, v := range []uint64{a.FundedCount, a.FundedSum, a.SpentCount, a.SpentSum, a.TxCount} {
		b = putVLQ(b, v)
	}
	return b
}

func decodeAddrStats(b []byte) (AddrStats, error) {
	d := decoder{b: b}
	a := AddrStats{FundedCount: d.vlq(), FundedSum: d.vlq(), SpentCount: d.vlq(), SpentSum: d.vlq(), TxCount: d.vlq()}
	if d.err != nil {
		return AddrStats{}, malformedf("scripthash stats: %v", d.err)
	}
	if len(d.b) != 0 {
		return AddrStats{}, malformedf("scripthash stats: trailing bytes")
	}
	if a.SpentCount > a.FundedCount || a.SpentSum > a.FundedSum {
		return AddrStats{}, malformedf("scripthash stats: spent exceeds funded")
	}
	return a, nil
}
