package snapgen

// The distributions the generator draws from. The modern ones are counted
// on a real block, mainnet 866342 (19 October 2024, hash
// 000000000000000000014ce9ba7c6760053c3c82ce6ab43d60afb101d3c8f1f1,
// testdata/mainnet/block-866342.raw.gz: 4,864 transactions, 10,327
// outputs). Its outputs by script type, counted with the patterns of
// utxo.scriptTemplate / Core's Solver:
//
//	type        outputs  share  share without OP_RETURN
//	OP_RETURN   3,971    38.5%  (not in the set: Core never adds them)
//	P2WPKH      3,113    30.1%  49.0%
//	P2TR        2,757    26.7%  43.4%
//	P2SH          210     2.0%   3.3%
//	P2PKH         204     2.0%   3.2%
//	P2WSH          72     0.7%   1.1%
//	P2PK            0
//	bare multisig   0
//
// A UTXO set is not one block: it keeps coins of every age, and a modern
// block has no P2PK or bare multisig outputs while the set does. So the
// type is drawn by the era of the coin's height (eraMixes), the modern era
// from the block above and the old eras from public counts of the set:
//
//   - Murch, Bitcoin Stack Exchange 114043 (June 2022, from txstats.com's
//     "UTXO set repartition by output type"): P2PKH 51.9M, P2SH 15.4M,
//     P2WPKH 13.6M, P2WSH 881K, bare multisig 435K, P2TR 89K, P2PK 49K.
//     https://bitcoin.stackexchange.com/questions/114043
//   - waxwing, 16 March 2024, from a dumptxoutset: 39M of 167M coins
//     P2TR, 33M of those under 1,000 sat.
//   - mempool.space research, "UTXO Set Report" (2025): 173M coins, 49%
//     under 1,000 sat, mostly taproot; over 100k bare multisig
//     (Counterparty) coins more than 10 years old.
//     https://research.mempool.space/utxo-set-report
//
// For comparison, what the generator writes at the reference height (1M
// coins, seed 1; TestMix prints it): P2WPKH 41.8%, P2TR 29.3%, P2PKH
// 20.0%, P2SH 7.6%, P2WSH 1.0%, bare multisig 0.17%, P2PK 0.07%; 66.6%
// of the coins pay a script an earlier coin pays (see reuseNum); 1.31
// coins per txid; 0.092 BTC per coin (the real set: 19.7M BTC over
// about 170M coins, 0.12).

// scriptType is a kind of output script the generator writes.
type scriptType uint8

const (
	p2wpkh scriptType = iota
	p2tr
	p2pkh
	p2sh
	p2wsh
	p2pk      // compressed key, 35-byte script
	p2pkUncmp // uncompressed key, 67-byte script (the early coinbases)
	multisig  // bare 1-of-2 or 1-of-3, compressed keys
	numTypes
)

var typeNames = [numTypes]string{"P2WPKH", "P2TR", "P2PKH", "P2SH", "P2WSH", "P2PK", "P2PK (uncompressed)", "bare multisig"}

func (t scriptType) String() string { return typeNames[t] }

// refHeight is the mainnet height the tables describe. A coin's height is
// drawn as a mainnet height m in 0..refHeight (ageBins), which picks its
// era, and scaled to the base height: Height = m × base / refHeight. So a
// regtest snapshot at height 300 has the same mix as one at 866342.
const refHeight = 866342

// Mainnet heights where script types became possible.
const (
	p2shHeight    = 173805 // BIP16
	segwitHeight  = 481824 // BIP141
	taprootHeight = 709632 // BIP341
)

// ageBin is a range of mainnet heights [lo, hi) and its weight (coins per
// 10,000).
type ageBin struct {
	lo, hi int32
	weight uint64
}

// ageBins is how the coins' heights spread. No public table of the set's
// coins by height was found, so this is a modelling choice, held to the
// facts above: P2TR coins, all above 709632, are 23% of the set in 2024
// (waxwing) and the taproot-era coins carry that with the block's 43%
// P2TR share when they are about two thirds of the set; the 2023–2024
// inscription wave is the bulk of them (mempool.space: half the set under
// 1,000 sat); coins of 2009–2010 are 0.02%, mostly unspent 50 BTC
// coinbases (about 35k of them hold the 1.75M BTC of those years, after
// matt4054's per-year table, bitcointalk topic 994852), so that the set's
// total stays near the real 19.7M BTC.
var ageBins = []ageBin{
	{0, 100_000, 2},                // 2009–2010
	{100_000, 250_000, 228},        // 2011–2013
	{250_000, 400_000, 500},        // 2013–2016
	{400_000, 481_824, 500},        // 2016–2017, before segwit
	{481_824, 620_000, 1000},       // 2017–2020
	{620_000, 709_632, 1000},       // 2020–2021, before taproot
	{709_632, 780_000, 1000},       // 2021–2023
	{780_000, 840_000, 2800},       // 2023–2024, inscriptions
	{840_000, refHeight + 1, 2970}, // the last six months
}

// eraMix is the script-type weights of the non-coinbase coins of the
// heights from `from` up to the next era.
type eraMix struct {
	from    int32
	weights [numTypes]uint64
}

// Block 866342's counts (the table above), and Murch's 2022 counts of the
// legacy types in thousands.
var (
	block866342 = [numTypes]uint64{p2wpkh: 3113, p2tr: 2757, p2sh: 210, p2pkh: 204, p2wsh: 72}
	legacy2022  = [numTypes]uint64{p2pkh: 51_900, p2sh: 15_400, multisig: 435, p2pk: 49}
)

var eraMixes = []eraMix{
	// Before P2SH: pay-to-address and the odd P2PK payment.
	{0, [numTypes]uint64{p2pkh: 97, p2pkUncmp: 3}},
	// Legacy: Murch's 2022 counts of the legacy types.
	{p2shHeight, legacy2022},
	// Segwit before taproot: legacy and modern in equal parts (both
	// scaled to 1M).
	{segwitHeight, blend(legacy2022, withoutP2TR(block866342))},
	// Taproot: block 866342, plus bare multisig at the set's 0.06%
	// (mempool.space's 100k of 173M: data-carrying outputs still made).
	{taprootHeight, withMultisig(block866342, 4)},
}

func withoutP2TR(w [numTypes]uint64) [numTypes]uint64 { w[p2tr] = 0; return w }

func withMultisig(w [numTypes]uint64, n uint64) [numTypes]uint64 { w[multisig] = n; return w }

func blend(a, b [numTypes]uint64) [numTypes]uint64 {
	var sa, sb uint64
	for i := range a {
		sa, sb = sa+a[i], sb+b[i]
	}
	var out [numTypes]uint64
	for i := range out {
		out[i] = a[i]*1_000_000/sa + b[i]*1_000_000/sb
	}
	return out
}

// valueBins counts block 866342's outputs of each type by decade of value:
// index d counts values in [10^d, 10^(d+1)) sat. Types the block lacks
// borrow a table: P2PK the P2PKH one (early P2PK coins are coinbases, see
// coinbaseValue), bare multisig Counterparty's 1,000–9,999 sat dust.
var valueBins = [numTypes][10]uint64{
	p2wpkh:    {2: 155, 3: 1443, 4: 873, 5: 488, 6: 87, 7: 36, 8: 25, 9: 6},
	p2tr:      {2: 652, 3: 234, 4: 809, 5: 644, 6: 415, 7: 3},
	p2sh:      {2: 4, 3: 28, 4: 77, 5: 67, 6: 23, 7: 9, 8: 2},
	p2pkh:     {2: 7, 3: 16, 4: 61, 5: 77, 6: 28, 7: 9, 8: 6},
	p2wsh:     {2: 13, 3: 2, 4: 24, 5: 21, 6: 7, 7: 5},
	p2pk:      {2: 7, 3: 16, 4: 61, 5: 77, 6: 28, 7: 9, 8: 6},
	p2pkUncmp: {2: 7, 3: 16, 4: 61, 5: 77, 6: 28, 7: 9, 8: 6},
	multisig:  {3: 1},
}

// dustValue is an exact value that a type's outputs below 1,000 sat take
// more often than chance: the dust limits and the ordinals' postage. Counts
// from block 866342, out of the type's outputs in [100, 1000).
type dustValue struct {
	value int64
	count uint64
}

var dustValues = [numTypes][]dustValue{
	p2tr:   {{330, 169}, {546, 305}},
	p2wpkh: {{294, 6}, {330, 18}, {546, 31}},
	p2wsh:  {{330, 6}, {546, 1}},
	p2sh:   {{546, 1}},
}

// outputsPerTx counts block 866342's transactions by their number of
// outputs other than OP_RETURN: 4,864 transactions, 6,356 outputs. The
// generator uses it for the unspent outputs per txid.
var outputsPerTx = []struct {
	outputs int
	txs     uint64
}{
	{1, 4107}, {2, 563}, {3, 121}, {4, 23}, {5, 12}, {6, 6}, {7, 3}, {8, 2}, {9, 1}, {10, 12},
	{11, 3}, {13, 2}, {14, 2}, {15, 1}, {16, 1}, {21, 2}, {39, 1}, {54, 1}, {153, 1},
}

// Coins per transaction in outputsPerTx, as a fraction, for spacing the
// txids.
const outputsNum, outputsDen = 6356, 4864

// Coinbases: below earlyHeight nearly every surviving coin is an unspent
// coinbase paying an uncompressed key (earlyCoinbasePermille); above, one
// transaction per block is a coinbase, one in block 866342's 4,864.
const (
	earlyHeight           = 100_000
	earlyCoinbasePermille = 900
	coinbaseOneIn         = 4864
)

// Address reuse. A UTXO set holds far fewer distinct scripts than coins:
// in 2024 about 53M addresses had a balance (BitInfoCharts' "Bitcoin
// distribution" table; Coin Metrics' AdrBalCnt series, the same order)
// against about 170M coins, so each distinct script holds about three
// coins on average, and a few exchange and pool addresses hold far more.
// The generator pays an earlier script of the same type with probability
// reuseNum/reuseDen (so about a third of the coins have a script of their
// own), a quarter of those times one of the first hotScripts of that type,
// otherwise one of the last poolSize. Coinbase coins are never reused: the
// old ones paid a fresh key each, and a modern pool's reused payout
// address is among the hot ones anyway. What the index of a set costs on
// disk depends on this: with every script distinct, the counters table
// alone holds one record per coin.
const (
	reuseNum, reuseDen = 2, 3
	hotScripts         = 64
	poolSize           = 1 << 14
)
