package chaingen

import (
	"fmt"
	"math"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
)

// Consensus limits the generator must respect (BIP141 units).
const (
	maxBlockWeight     = 4_000_000
	maxBlockSigOpsCost = 80_000
	coinbaseMaturity   = 100
	// blockVersion signals BIP9 bits 0 (CSV), 1 (segwit) and 2 (taproot)
	// with the 001 top-bits prefix.
	blockVersion = 0x20000007
	// blockSpacing is the nominal distance between block timestamps.
	blockSpacing = 600
	// timeJitter is the maximum deterministic deviation from the nominal
	// timestamp; it must stay below blockSpacing/2 so timestamps are strictly
	// increasing and therefore always above median-time-past.
	timeJitter = 90
)

// OutputMix holds relative weights of the spendable output script types
// created after segwit/taproot activation. Before activation only the P2PKH
// and P2SH weights are used (renormalised), and P2SH outputs use legacy
// redeem scripts.
type OutputMix struct {
	P2WPKH float64
	P2TR   float64
	P2PKH  float64
	P2SH   float64
	P2WSH  float64
}

// HotAddress is an address (key index plus script type) that receives a
// fixed share of all generated outputs, like an exchange deposit address.
type HotAddress struct {
	KeyIndex uint32
	Type     ScriptType
	// Weight is this address' share among the hot addresses.
	Weight float64
}

// Config fully determines the generated chain: the same Config gives a
// byte-identical chain.
type Config struct {
	// Params must be chaincfg.RegressionNetParams (nil means regtest).
	Params *chaincfg.Params
	// Seed drives every random choice and every key.
	Seed uint64
	// Blocks is the number of blocks generated after genesis.
	Blocks int
	// TxsPerBlock is the number of non-coinbase transactions per block from
	// ActivationHeight on. A block ends earlier if the weight or sigop budget
	// would be exceeded, or (early on) if the wallet runs out of coins.
	TxsPerBlock int
	// PreActivationTxsPerBlock is the same before activation, where only
	// legacy spends are possible; keep it small so big chains are mostly
	// segwit/taproot like mainnet today.
	PreActivationTxsPerBlock int
	// StartTime is the nominal timestamp of block 1; block h is at
	// StartTime + 600s*(h-1) plus a jitter of at most ±90s.
	StartTime time.Time

	// KeyPoolSize is the number of keys (indexes 0..KeyPoolSize-1) outputs
	// are paid to.
	KeyPoolSize int
	// Hot lists the hot addresses, which must use the distinct key indexes
	// 0..len(Hot)-1 (ordinary outputs use the rest of the pool). HotShare is
	// the probability that an ordinary output pays one of them. Batch change
	// always goes to Hot[0], the "exchange". Before activation, hot
	// addresses with segwit types are skipped.
	Hot      []HotAddress
	HotShare float64

	// Mix weights the script types of ordinary outputs.
	Mix OutputMix
	// P2SHWrappedShare is the share of P2SH outputs after activation that
	// are P2SH-P2WPKH; the rest use legacy redeem scripts.
	P2SHWrappedShare float64
	// P2WSHMultisigShare is the share of P2WSH outputs using a 1-of-2
	// multisig witness script instead of <pubkey> OP_CHECKSIG.
	P2WSHMultisigShare float64

	// InputWeights and OutputWeights weight 1, 2 and 3 inputs / payment
	// outputs for ordinary transactions.
	InputWeights  [3]float64
	OutputWeights [3]float64
	// ConsolidationRate is the probability that a transaction (after
	// activation) is a consolidation spending ConsolidationInputs[0..1]
	// segwit/taproot inputs into one output. Legacy inputs are never used
	// in consolidations: their sighash is quadratic in the input count.
	ConsolidationRate   float64
	ConsolidationInputs [2]int
	// BatchRate is the probability that a transaction is a batch payout with
	// BatchOutputs[0..1] payment outputs plus change.
	BatchRate    float64
	BatchOutputs [2]int
	// BatchPayout is the range of batch payout values (log-uniform);
	// payouts well below the typical coin value keep batches funded by one
	// or two inputs, as when an exchange pays withdrawals from a big coin.
	BatchPayout [2]int64

	// Input selection: each input is drawn from outputs created earlier in
	// the same block with probability InBlockSpendRate, uniformly from all
	// unspent outputs with probability OldSpendRate, and otherwise from the
	// RecentWindow outputs created last before the current block (0 means
	// 8 times the block's transaction target, at least 256).
	InBlockSpendRate float64
	OldSpendRate     float64
	RecentWindow     int

	// OpReturnRate is the probability that a transaction carries an
	// OP_RETURN output; OpReturnValueRate the probability that such an
	// output burns a few satoshis instead of zero.
	OpReturnRate      float64
	OpReturnValueRate float64
	// UnderclaimRate is the probability that a coinbase claims slightly less
	// than subsidy plus fees.
	UnderclaimRate float64
	// FeeRate is the inclusive range of fee rates in sat/vbyte.
	FeeRate [2]int64
	// MinOutputValue is the smallest value of a spendable output.
	MinOutputValue int64

	// Workers is the number of signing goroutines (0 = GOMAXPROCS). It does
	// not affect the output.
	Workers int
}

// DefaultConfig returns a small chain (600 blocks, past activation) with the
// default mainnet-like mix; it is what the btcd validation test runs.
func DefaultConfig() Config {
	return Config{
		Params:                   &chaincfg.RegressionNetParams,
		Seed:                     1,
		Blocks:                   600,
		TxsPerBlock:              50,
		PreActivationTxsPerBlock: 6,
		StartTime:                time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyPoolSize:              2000,
		Hot: []HotAddress{
			{KeyIndex: 0, Type: ScriptP2WPKH, Weight: 0.6},
			{KeyIndex: 1, Type: ScriptP2TR, Weight: 0.25},
			{KeyIndex: 2, Type: ScriptP2PKH, Weight: 0.15},
		},
		HotShare:            0.10,
		Mix:                 OutputMix{P2WPKH: 0.45, P2TR: 0.30, P2PKH: 0.12, P2SH: 0.08, P2WSH: 0.05},
		P2SHWrappedShare:    0.8,
		P2WSHMultisigShare:  0.5,
		InputWeights:        [3]float64{0.6, 0.3, 0.1},
		OutputWeights:       [3]float64{0.1, 0.8, 0.1},
		ConsolidationRate:   0.005,
		ConsolidationInputs: [2]int{100, 200},
		BatchRate:           0.01,
		BatchOutputs:        [2]int{100, 250},
		BatchPayout:         [2]int64{2_000, 100_000},
		InBlockSpendRate:    0.05,
		OldSpendRate:        0.10,
		OpReturnRate:        0.03,
		OpReturnValueRate:   0.1,
		UnderclaimRate:      0.02,
		FeeRate:             [2]int64{1, 20},
		MinOutputValue:      1000,
	}
}

// BenchConfig returns the import benchmark profile: 1000 blocks with
// 1,144,620 transactions, ending with about 4.2M unspent outputs. The net
// UTXO growth comes from the shapes: mostly 1-input/2-output payments and 2%
// batch payouts of 100-250 outputs, against rare consolidations. Generating
// it takes a few minutes and about 1 GB of memory.
func BenchConfig() Config {
	c := DefaultConfig()
	c.Blocks = 1000
	c.TxsPerBlock = 2000
	c.PreActivationTxsPerBlock = 20
	c.KeyPoolSize = 20000
	c.InputWeights = [3]float64{0.72, 0.21, 0.07}
	c.OutputWeights = [3]float64{0.05, 0.85, 0.10}
	c.ConsolidationRate = 0.002
	c.BatchRate = 0.02
	return c
}

// ActivationHeight is the first height at which CSV, segwit and taproot
// rules apply when every block signals them from genesis on: the signalling
// window 144..287 locks them in, and they are active from the third window.
func (c Config) ActivationHeight() int32 {
	p := c.params()
	return int32(3 * p.MinerConfirmationWindow)
}

// LastBlockTime is the latest timestamp the last block can carry. btcd and
// Bitcoin Core reject blocks more than 2 hours ahead of their clock, so a
// chain submitted to a live node needs LastBlockTime in the past.
func (c Config) LastBlockTime() time.Time {
	return time.Unix(c.StartTime.Unix()+int64(c.Blocks-1)*blockSpacing+timeJitter, 0).UTC()
}

func (c Config) params() *chaincfg.Params {
	if c.Params == nil {
		return &chaincfg.RegressionNetParams
	}
	return c.Params
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("chaingen: invalid config %s: %s", e.Field, e.Reason)
}

func badField(field, format string, args ...any) error {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func checkRate(field string, v float64) error {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return badField(field, "%v not in [0,1]", v)
	}
	return nil
}

func checkWeights(field string, ws ...float64) error {
	sum := 0.0
	for _, w := range ws {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return badField(field, "weight %v must be finite and >= 0", w)
		}
		sum += w
	}
	if sum <= 0 {
		return badField(field, "weights must not all be zero")
	}
	return nil
}

// Validate reports the first problem with c, as a *ConfigError.
func (c Config) Validate() error {
	p := c.params()
	reg := &chaincfg.RegressionNetParams
	if p.Name != reg.Name || *p.GenesisHash != *reg.GenesisHash {
		return badField("Params", "only regtest is supported, got %q", p.Name)
	}
	if c.Blocks < 0 || c.Blocks > 1_000_000 {
		return badField("Blocks", "%d not in [0,1000000]", c.Blocks)
	}
	if c.TxsPerBlock < 0 || c.TxsPerBlock > 20_000 {
		return badField("TxsPerBlock", "%d not in [0,20000]", c.TxsPerBlock)
	}
	if c.PreActivationTxsPerBlock < 0 || c.PreActivationTxsPerBlock > 20_000 {
		return badField("PreActivationTxsPerBlock", "%d not in [0,20000]", c.PreActivationTxsPerBlock)
	}
	genesis := p.GenesisBlock.Header.Timestamp
	if !c.StartTime.After(genesis) {
		return badField("StartTime", "%v must be after the genesis time %v", c.StartTime, genesis)
	}
	last := c.StartTime.Unix() + int64(c.Blocks+1)*blockSpacing + timeJitter
	if last > math.MaxUint32 {
		return badField("StartTime", "last block time %d overflows uint32", last)
	}
	if c.KeyPoolSize < len(c.Hot)+2 || c.KeyPoolSize > 1<<20 {
		return badField("KeyPoolSize", "%d not in [len(Hot)+2, 2^20]", c.KeyPoolSize)
	}
	seen := map[uint32]bool{}
	hotW := make([]float64, 0, len(c.Hot))
	for i, h := range c.Hot {
		if int(h.KeyIndex) >= len(c.Hot) || seen[h.KeyIndex] {
			return badField(fmt.Sprintf("Hot[%d].KeyIndex", i), "%d: hot addresses must use distinct key indexes 0..len(Hot)-1", h.KeyIndex)
		}
		seen[h.KeyIndex] = true
		if !h.Type.Spendable() {
			return badField(fmt.Sprintf("Hot[%d].Type", i), "%v is not a spendable type", h.Type)
		}
		hotW = append(hotW, h.Weight)
	}
	if len(c.Hot) > 0 {
		if err := checkWeights("Hot.Weight", hotW...); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"HotShare", c.HotShare}, {"P2SHWrappedShare", c.P2SHWrappedShare},
		{"P2WSHMultisigShare", c.P2WSHMultisigShare}, {"ConsolidationRate", c.ConsolidationRate},
		{"BatchRate", c.BatchRate}, {"InBlockSpendRate", c.InBlockSpendRate},
		{"OldSpendRate", c.OldSpendRate}, {"OpReturnRate", c.OpReturnRate},
		{"OpReturnValueRate", c.OpReturnValueRate}, {"UnderclaimRate", c.UnderclaimRate},
	} {
		if err := checkRate(r.name, r.v); err != nil {
			return err
		}
	}
	if c.ConsolidationRate+c.BatchRate > 0.5 {
		return badField("BatchRate", "ConsolidationRate+BatchRate must be <= 0.5")
	}
	if c.InBlockSpendRate+c.OldSpendRate > 1 {
		return badField("OldSpendRate", "InBlockSpendRate+OldSpendRate must be <= 1")
	}
	if err := checkWeights("Mix", c.Mix.P2WPKH, c.Mix.P2TR, c.Mix.P2PKH, c.Mix.P2SH, c.Mix.P2WSH); err != nil {
		return err
	}
	if c.Mix.P2PKH+c.Mix.P2SH <= 0 {
		return badField("Mix", "P2PKH+P2SH must be > 0: they are the only outputs before activation")
	}
	if err := checkWeights("InputWeights", c.InputWeights[:]...); err != nil {
		return err
	}
	if err := checkWeights("OutputWeights", c.OutputWeights[:]...); err != nil {
		return err
	}
	if c.ConsolidationInputs[0] < 2 || c.ConsolidationInputs[1] < c.ConsolidationInputs[0] || c.ConsolidationInputs[1] > maxConsolidationInputs {
		return badField("ConsolidationInputs", "%v must satisfy 2 <= min <= max <= %d", c.ConsolidationInputs, maxConsolidationInputs)
	}
	if c.BatchOutputs[0] < 2 || c.BatchOutputs[1] < c.BatchOutputs[0] || c.BatchOutputs[1] > maxBatchOutputs {
		return badField("BatchOutputs", "%v must satisfy 2 <= min <= max <= %d", c.BatchOutputs, maxBatchOutputs)
	}
	if c.BatchPayout[0] < c.MinOutputValue || c.BatchPayout[1] < c.BatchPayout[0] || c.BatchPayout[1] > 100_000_000 {
		return badField("BatchPayout", "%v must satisfy MinOutputValue <= min <= max <= 1e8", c.BatchPayout)
	}
	if c.RecentWindow < 0 {
		return badField("RecentWindow", "%d must be >= 0", c.RecentWindow)
	}
	if c.FeeRate[0] < 0 || c.FeeRate[1] < c.FeeRate[0] || c.FeeRate[1] > 10_000 {
		return badField("FeeRate", "%v must satisfy 0 <= min <= max <= 10000", c.FeeRate)
	}
	if c.MinOutputValue < 1 || c.MinOutputValue > 1_000_000 {
		return badField("MinOutputValue", "%d not in [1,1000000]", c.MinOutputValue)
	}
	if c.Workers < 0 {
		return badField("Workers", "%d must be >= 0", c.Workers)
	}
	return nil
}
