package query

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
)

// ChainStats are Esplora's chain_stats of an address or script hash.
type ChainStats struct {
	FundedTxoCount uint64 `json:"funded_txo_count"`
	FundedTxoSum   uint64 `json:"funded_txo_sum"`
	SpentTxoCount  uint64 `json:"spent_txo_count"`
	SpentTxoSum    uint64 `json:"spent_txo_sum"`
	TxCount        uint64 `json:"tx_count"`
}

// Status is Esplora's confirmation status of an output.
type Status struct {
	Confirmed   bool   `json:"confirmed"`
	BlockHeight int32  `json:"block_height"`
	BlockHash   string `json:"block_hash"`
	BlockTime   int64  `json:"block_time"`
}

// UTXO is Esplora's unspent-output object (values in satoshis).
type UTXO struct {
	TxID   string `json:"txid"`
	Vout   uint32 `json:"vout"`
	Status Status `json:"status"`
	Value  int64  `json:"value"`
}

// ScriptHashInfo is a script hash's (or address's) counters and one page
// of its unspent outputs.
type ScriptHashInfo struct {
	Address    string `json:"address,omitempty"`
	ScriptHash string `json:"scripthash"`
	// ElectrumScriptHash is the same hash byte-reversed, as the Electrum
	// protocol writes it.
	ElectrumScriptHash string     `json:"electrum_scripthash"`
	ChainStats         ChainStats `json:"chain_stats"`
	Balance            int64      `json:"balance"`
	UTXOs              []UTXO     `json:"utxos"`
	// Next is the cursor (TXID:VOUT) of the next page, if there is one.
	Next string `json:"next,omitempty"`
}

// ParseScriptHash parses a script hash as Esplora's REST API takes it: the
// hex of sha256(scriptPubKey), not reversed.
func ParseScriptHash(s string) ([32]byte, error) {
	var sh [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return sh, fmt.Errorf("query: script hash %q is not 64 hex digits", s)
	}
	copy(sh[:], b)
	return sh, nil
}

// ScriptHashOf is the Esplora script hash of an output script.
func ScriptHashOf(script []byte) [32]byte { return sha256.Sum256(script) }

// GetScriptHash returns the counters and up to limit unspent outputs of a
// script hash, starting after the cursor `after` (nil: the first page).
func GetScriptHash(r *utxo.Reader, sh [32]byte, after *utxo.Outpoint, limit int) (*ScriptHashInfo, error) {
	s, err := r.ScriptHashStats(sh)
	if err != nil {
		return nil, err
	}
	utxos, next, err := r.ScriptHashUnspent(sh, after, limit)
	if err != nil {
		return nil, err
	}
	rev := sh
	slices.Reverse(rev[:])
	info := &ScriptHashInfo{
		ScriptHash: hex.EncodeToString(sh[:]), ElectrumScriptHash: hex.EncodeToString(rev[:]),
		ChainStats: ChainStats{FundedTxoCount: s.FundedCount, FundedTxoSum: s.FundedSum, SpentTxoCount: s.SpentCount,
			SpentTxoSum: s.SpentSum, TxCount: s.TxCount},
		Balance: int64(s.Balance()), UTXOs: []UTXO{},
	}
	headers := map[int32]Status{}
	for _, u := range utxos {
		st, ok := headers[u.Height]
		if !ok {
			st = Status{Confirmed: true, BlockHeight: u.Height}
			if h, err := r.Header(u.Height); err == nil {
				st.BlockHash = h.BlockHash().String()
				st.BlockTime = h.Timestamp.Unix()
			} else if !utxo.IsNotFound(err) {
				return nil, err
			}
			headers[u.Height] = st
		}
		info.UTXOs = append(info.UTXOs, UTXO{TxID: chainhash.Hash(u.Outpoint.Hash).String(), Vout: u.Outpoint.Index,
			Status: st, Value: u.Value})
	}
	if next != nil {
		info.Next = next.String()
	}
	return info, nil
}
