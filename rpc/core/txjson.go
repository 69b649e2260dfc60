package core

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// txResult is Core's transaction object (TxToUniv, then TxToJSON's block
// fields for getrawtransaction), in Core's field order. btcd's rpcclient
// decodes it as btcjson.TxRawResult, which has every field but
// in_active_chain, fee and the inputs' prevout.
type txResult struct {
	InActiveChain *bool         `json:"in_active_chain,omitempty"`
	TxID          string        `json:"txid"`
	Hash          string        `json:"hash"`
	Version       uint32        `json:"version"`
	Size          int           `json:"size"`
	VSize         int           `json:"vsize"`
	Weight        int           `json:"weight"`
	LockTime      uint32        `json:"locktime"`
	Vin           []vinResult   `json:"vin"`
	Vout          []voutResult  `json:"vout"`
	Fee           *query.Amount `json:"fee,omitempty"`
	Hex           string        `json:"hex"`
	BlockHash     string        `json:"blockhash,omitempty"`
	Confirmations int32         `json:"confirmations,omitempty"`
	Time          int64         `json:"time,omitempty"`
	BlockTime     int64         `json:"blocktime,omitempty"`
}

// vinResult is one input: "coinbase" for a coinbase, else txid, vout and
// scriptSig; then the witness, the prevout when asked for and known, and
// the sequence.
type vinResult struct {
	Coinbase  string           `json:"coinbase,omitempty"`
	TxID      string           `json:"txid,omitempty"`
	Vout      *uint32          `json:"vout,omitempty"`
	ScriptSig *scriptSigResult `json:"scriptSig,omitempty"`
	Witness   []string         `json:"txinwitness,omitempty"`
	Prevout   *prevoutResult   `json:"prevout,omitempty"`
	Sequence  uint32           `json:"sequence"`
}

type scriptSigResult struct {
	Asm string `json:"asm"`
	Hex string `json:"hex"`
}

// prevoutResult is the coin an input spent, from the block's undo record.
type prevoutResult struct {
	Generated    bool               `json:"generated"`
	Height       int32              `json:"height"`
	Value        query.Amount       `json:"value"`
	ScriptPubKey scriptPubKeyResult `json:"scriptPubKey"`
}

type voutResult struct {
	Value        query.Amount       `json:"value"`
	N            int                `json:"n"`
	ScriptPubKey scriptPubKeyResult `json:"scriptPubKey"`
}

// scriptPubKeyResult is Core's ScriptToUniv with hex and address, the
// same description gettxout gives.
type scriptPubKeyResult struct {
	Asm     string `json:"asm"`
	Desc    string `json:"desc"`
	Hex     string `json:"hex"`
	Address string `json:"address,omitempty"`
	Type    string `json:"type"`
}

func (s *server) scriptPubKey(script []byte, net *chaincfg.Params) scriptPubKeyResult {
	info := s.scripts.describe(script, net)
	return scriptPubKeyResult{Asm: info.asm, Desc: info.desc, Hex: hex.EncodeToString(script), Address: info.address,
		Type: info.typ}
}

// txDetail says how much txJSON tells: Core's TxVerbosity. With spent
// coins (from the block's undo record) SHOW_DETAILS adds the fee and
// SHOW_DETAILS_AND_PREVOUT also each input's prevout; without them both
// are SHOW_DETAILS without fee, as Core answers when it has no undo data.
type txDetail uint8

const (
	showDetails txDetail = iota
	showPrevouts
)

// txJSON is Core's TxToUniv with include_hex. spent is the transaction's
// coins in input order, nil when unknown (a coinbase, or a block below
// the undo depth).
func (s *server) txJSON(tx *wire.MsgTx, spent []utxo.SpentCoin, detail txDetail, net *chaincfg.Params) (txResult, error) {
	var raw bytes.Buffer
	raw.Grow(tx.SerializeSize())
	if err := tx.Serialize(&raw); err != nil {
		return txResult{}, err
	}
	txid, wtxid := tx.TxHash(), tx.WitnessHash()
	stripped := tx.SerializeSizeStripped()
	weight := stripped*3 + raw.Len()
	r := txResult{
		TxID: txid.String(), Hash: wtxid.String(), Version: uint32(tx.Version), Size: raw.Len(),
		VSize: (weight + 3) / 4, Weight: weight, LockTime: tx.LockTime,
		Vin: make([]vinResult, len(tx.TxIn)), Vout: make([]voutResult, len(tx.TxOut)),
		Hex: hex.EncodeToString(raw.Bytes()),
	}
	coinbase := isCoinbase(tx)
	haveSpent := !coinbase && spent != nil
	if haveSpent && len(spent) != len(tx.TxIn) {
		return txResult{}, fmt.Errorf("undo data of %s lists %d spent coins for %d inputs", txid, len(spent), len(tx.TxIn))
	}
	var in, out int64
	for i, txIn := range tx.TxIn {
		v := &r.Vin[i]
		if coinbase {
			v.Coinbase = hex.EncodeToString(txIn.SignatureScript)
		} else {
			v.TxID = txIn.PreviousOutPoint.Hash.String()
			n := txIn.PreviousOutPoint.Index
			v.Vout = &n
			v.ScriptSig = &scriptSigResult{Asm: scriptSigAsm(txIn.SignatureScript), Hex: hex.EncodeToString(txIn.SignatureScript)}
		}
		if len(txIn.Witness) > 0 {
			v.Witness = make([]string, len(txIn.Witness))
			for j, item := range txIn.Witness {
				v.Witness[j] = hex.EncodeToString(item)
			}
		}
		if haveSpent {
			c := &spent[i]
			if c.Outpoint.Hash != txIn.PreviousOutPoint.Hash || c.Outpoint.Index != txIn.PreviousOutPoint.Index {
				return txResult{}, fmt.Errorf("undo data of %s: input %d spent %s, not %s", txid, i, c.Outpoint, txIn.PreviousOutPoint)
			}
			in += c.Coin.Value
			if detail >= showPrevouts {
				v.Prevout = &prevoutResult{Generated: c.Coin.Coinbase, Height: c.Coin.Height, Value: query.Amount(c.Coin.Value),
					ScriptPubKey: s.scriptPubKey(c.Coin.Script, net)}
			}
		}
		v.Sequence = txIn.Sequence
	}
	for i, o := range tx.TxOut {
		out += o.Value
		r.Vout[i] = voutResult{Value: query.Amount(o.Value), N: i, ScriptPubKey: s.scriptPubKey(o.PkScript, net)}
	}
	if haveSpent {
		fee := query.Amount(in - out)
		r.Fee = &fee
	}
	return r, nil
}

// isCoinbase is Core's CTransaction::IsCoinBase: one input, spending the
// null outpoint.
func isCoinbase(tx *wire.MsgTx) bool {
	return len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
		tx.TxIn[0].PreviousOutPoint.Hash == chainhash.Hash{}
}
