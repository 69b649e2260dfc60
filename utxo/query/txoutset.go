package query

import (
	"fmt"
	"math/big"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/muhash"
)

// TxOutSetInfo is Bitcoin Core's `gettxoutsetinfo muhash <height>` answer
// as given with coinstatsindex, field for field and in Core's order, plus
// satnode's block statistics under "satnode".
type TxOutSetInfo struct {
	Height                 int32      `json:"height"`
	BestBlock              string     `json:"bestblock"`
	TxOuts                 uint64     `json:"txouts"`
	BogoSize               uint64     `json:"bogosize"`
	MuHash                 string     `json:"muhash"`
	TotalAmount            Amount     `json:"total_amount"`
	TotalUnspendableAmount Amount     `json:"total_unspendable_amount"`
	BlockInfo              BlockInfo  `json:"block_info"`
	Satnode                BlockStats `json:"satnode"`
}

// BlockInfo is Core's block_info: what this block changed.
type BlockInfo struct {
	PrevoutSpent         Amount       `json:"prevout_spent"`
	Coinbase             Amount       `json:"coinbase"`
	NewOutputsExCoinbase Amount       `json:"new_outputs_ex_coinbase"`
	Unspendable          Amount       `json:"unspendable"`
	Unspendables         Unspendables `json:"unspendables"`
}

// Unspendables breaks an unspendable amount down by cause.
type Unspendables struct {
	GenesisBlock     Amount `json:"genesis_block"`
	BIP30            Amount `json:"bip30"`
	Scripts          Amount `json:"scripts"`
	UnclaimedRewards Amount `json:"unclaimed_rewards"`
}

// BlockStats are satnode's own statistics of the block.
type BlockStats struct {
	Time     uint32 `json:"time"`
	Size     uint32 `json:"size"`
	Weight   uint32 `json:"weight"`
	Txs      uint32 `json:"txs"`
	Inputs   uint32 `json:"inputs"`
	Outputs  uint32 `json:"outputs"`
	Fees     Amount `json:"fees"`
	Subsidy  Amount `json:"subsidy"`
	InAmount Amount `json:"in_amount"`
	// CoinDaysDestroyed is Σ value × age in BTC-days, as a decimal
	// string with eight decimals (the exact integer is satoshi-seconds).
	CoinDaysDestroyed string `json:"coin_days_destroyed"`
	// TotalSubsidy is Core's total_subsidy (cumulative).
	TotalSubsidy Amount `json:"total_subsidy"`
}

// GetTxOutSetInfo answers for the block at height; with height < 0, for
// the tip.
func GetTxOutSetInfo(r *utxo.Reader, height int32) (*TxOutSetInfo, error) {
	if height < 0 {
		st, err := r.State()
		if err != nil {
			return nil, err
		}
		if !st.HasTip {
			return nil, fmt.Errorf("query: the store is empty: %w", utxo.ErrNotFound)
		}
		height = st.TipHeight
	}
	rec, err := r.BlockRecord(height)
	if err != nil {
		return nil, fmt.Errorf("query: no block at height %d: %w", height, err)
	}
	d, err := r.BlockRecordDelta(height)
	if err != nil {
		return nil, err
	}
	t, s := &rec.Totals, &rec.Stats
	return &TxOutSetInfo{
		Height: height, BestBlock: rec.Hash.String(), TxOuts: t.TxOuts, BogoSize: t.BogoSize,
		MuHash: muhash.Digest(rec.MuHash).String(), TotalAmount: Amount(t.TotalAmount),
		TotalUnspendableAmount: Amount(t.TotalUnspendable),
		BlockInfo: BlockInfo{
			PrevoutSpent: Amount(d.TotalPrevoutSpent), Coinbase: Amount(d.TotalCoinbase),
			NewOutputsExCoinbase: Amount(d.TotalNewOutputsExCoinbase), Unspendable: Amount(d.TotalUnspendable),
			Unspendables: Unspendables{GenesisBlock: Amount(d.UnspendableGenesis), BIP30: Amount(d.UnspendableBIP30),
				Scripts: Amount(d.UnspendableScripts), UnclaimedRewards: Amount(d.UnspendableUnclaimed)},
		},
		Satnode: BlockStats{Time: s.Time, Size: s.Size, Weight: s.Weight, Txs: s.Txs, Inputs: s.Inputs,
			Outputs: s.Outputs, Fees: Amount(s.Fees), Subsidy: Amount(s.Subsidy), InAmount: Amount(s.InAmount),
			CoinDaysDestroyed: coinDays(s.CoinDaysDestroyed), TotalSubsidy: Amount(t.TotalSubsidy)},
	}, nil
}

// coinDays formats satoshi-seconds as BTC-days with eight decimals,
// truncated, using exact integer arithmetic.
func coinDays(u utxo.U128) string {
	v := new(big.Int).SetUint64(u.Hi)
	v.Lsh(v, 64)
	v.Or(v, new(big.Int).SetUint64(u.Lo))
	// BTC-days × 10⁸ = sat·s / 86400.
	v.Quo(v, big.NewInt(86400))
	q, m := new(big.Int).QuoRem(v, big.NewInt(1e8), new(big.Int))
	return fmt.Sprintf("%s.%08d", q.String(), m.Int64())
}
