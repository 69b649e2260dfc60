package esplora

import (
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
)

// txValue is electrs's TransactionValue, in its field order. Prevouts and
// fee come from the block's undo record; for a block deeper than the undo
// depth they are unknown, and satnode says so rather than guess: every
// non-coinbase prevout is null and fee is left out.
type txValue struct {
	TxID     string       `json:"txid"`
	Version  uint32       `json:"version"`
	LockTime uint32       `json:"locktime"`
	Vin      []txInValue  `json:"vin"`
	Vout     []txOutValue `json:"vout"`
	Size     int          `json:"size"`
	Weight   int          `json:"weight"`
	Fee      *int64       `json:"fee,omitempty"`
	Status   txStatus     `json:"status"`
}

// txInValue is electrs's TxInValue. A coinbase input has the null
// outpoint (txid of zeros, vout 4294967295) and a null prevout.
type txInValue struct {
	TxID                  string      `json:"txid"`
	Vout                  uint32      `json:"vout"`
	Prevout               *txOutValue `json:"prevout"`
	ScriptSig             string      `json:"scriptsig"`
	ScriptSigAsm          string      `json:"scriptsig_asm"`
	Witness               []string    `json:"witness,omitempty"`
	IsCoinbase            bool        `json:"is_coinbase"`
	Sequence              uint32      `json:"sequence"`
	InnerRedeemScriptAsm  *string     `json:"inner_redeemscript_asm,omitempty"`
	InnerWitnessScriptAsm *string     `json:"inner_witnessscript_asm,omitempty"`
}

// txOutValue is electrs's TxOutValue.
type txOutValue struct {
	ScriptPubKey        string `json:"scriptpubkey"`
	ScriptPubKeyAsm     string `json:"scriptpubkey_asm"`
	ScriptPubKeyType    string `json:"scriptpubkey_type"`
	ScriptPubKeyAddress string `json:"scriptpubkey_address,omitempty"`
	Value               int64  `json:"value"`
}

// txStatus is electrs's TransactionStatus of a confirmed transaction.
type txStatus struct {
	Confirmed   bool   `json:"confirmed"`
	BlockHeight *int32 `json:"block_height,omitempty"`
	BlockHash   string `json:"block_hash,omitempty"`
	BlockTime   uint32 `json:"block_time,omitempty"`
}

func outValue(script []byte, value int64, net *chaincfg.Params) txOutValue {
	return txOutValue{ScriptPubKey: hex.EncodeToString(script), ScriptPubKeyAsm: scriptAsm(script),
		ScriptPubKeyType: scriptType(script), ScriptPubKeyAddress: scriptAddress(script, net), Value: value}
}

// txJSON builds electrs's TransactionValue for tx. spent holds the coins
// its inputs spent, in input order; known says whether the block's undo
// record was there (a coinbase spends nothing either way and pays no fee).
func txJSON(tx *wire.MsgTx, spent []utxo.SpentCoin, known bool, status txStatus, net *chaincfg.Params) (txValue, error) {
	size := tx.SerializeSize()
	r := txValue{TxID: tx.TxHash().String(), Version: uint32(tx.Version), LockTime: tx.LockTime,
		Vin: make([]txInValue, len(tx.TxIn)), Vout: make([]txOutValue, len(tx.TxOut)), Size: size,
		Weight: tx.SerializeSizeStripped()*3 + size, Status: status}
	coinbase := len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
		tx.TxIn[0].PreviousOutPoint.Hash == chainhash.Hash{}
	if known && !coinbase && len(spent) != len(tx.TxIn) {
		return r, fmt.Errorf("the undo data of %s lists %d spent coins for %d inputs", r.TxID, len(spent), len(tx.TxIn))
	}
	var in, out int64
	for i, txIn := range tx.TxIn {
		v := &r.Vin[i]
		*v = txInValue{TxID: txIn.PreviousOutPoint.Hash.String(), Vout: txIn.PreviousOutPoint.Index,
			ScriptSig: hex.EncodeToString(txIn.SignatureScript), ScriptSigAsm: scriptAsm(txIn.SignatureScript),
			IsCoinbase: coinbase, Sequence: txIn.Sequence}
		if len(txIn.Witness) > 0 {
			v.Witness = make([]string, len(txIn.Witness))
			for j, item := range txIn.Witness {
				v.Witness[j] = hex.EncodeToString(item)
			}
		}
		if coinbase || !known {
			continue
		}
		c := &spent[i]
		if c.Outpoint.Hash != txIn.PreviousOutPoint.Hash || c.Outpoint.Index != txIn.PreviousOutPoint.Index {
			return r, fmt.Errorf("the undo data of %s: input %d spent %s, not %s", r.TxID, i, c.Outpoint, txIn.PreviousOutPoint)
		}
		prev := outValue(c.Coin.Script, c.Coin.Value, net)
		v.Prevout = &prev
		in += c.Coin.Value
		innerScripts(v, txIn, c.Coin.Script)
	}
	for i, o := range tx.TxOut {
		r.Vout[i] = outValue(o.PkScript, o.Value, net)
		out += o.Value
	}
	switch {
	case coinbase:
		var zero int64
		r.Fee = &zero
	case known:
		fee := in - out
		r.Fee = &fee
	}
	return r, nil
}

// innerScripts is electrs's get_innerscripts: the redeem script of a P2SH
// spend (the scriptSig's last push) and the witness script of a P2WSH or
// P2SH-P2WSH spend (the last witness item), as asm.
func innerScripts(v *txInValue, txIn *wire.TxIn, prevScript []byte) {
	var redeem []byte
	haveRedeem := false
	if isP2SH(prevScript) {
		redeem, haveRedeem = lastPush(txIn.SignatureScript)
		if haveRedeem {
			asm := scriptAsm(redeem)
			v.InnerRedeemScriptAsm = &asm
		}
	}
	if (isP2WSH(prevScript) || haveRedeem && isP2WSH(redeem)) && len(txIn.Witness) > 0 {
		asm := scriptAsm(txIn.Witness[len(txIn.Witness)-1])
		v.InnerWitnessScriptAsm = &asm
	}
}

// spendingValue is electrs's SpendingValue: {"spent":false}, or the
// spending input and its confirmed status.
type spendingValue struct {
	Spent  bool      `json:"spent"`
	TxID   string    `json:"txid,omitempty"`
	Vin    *uint32   `json:"vin,omitempty"`
	Status *txStatus `json:"status,omitempty"`
}

// outspend is /tx/:txid/outspend/:vout. An output in the UTXO set is
// unspent. Otherwise the undo records of the last FinalityDepth+1 blocks
// (the undo depth the application keeps) are searched for the input that
// spent it (utxo.Reader.FindSpend). Anything else is not guessed: a 404
// saying the spend is outside the undo depth or the output never existed,
// which satnode, without a transaction index, cannot tell apart.
func outspend(w http.ResponseWriter, q *request, v *app.View) *Error {
	op := utxo.Outpoint{Hash: q.hash, Index: q.vout}
	switch _, err := v.Reader.Coin(op); {
	case err == nil:
		writeJSON(w, spendingValue{}, ttlShort)
		return nil
	case !utxo.IsNotFound(err):
		return lookupError(err)
	}
	depth := max(v.FinalityDepth+1, 1)
	sp, searched, err := v.Reader.FindSpend(op, v.Tip.Height, depth)
	if err != nil {
		return lookupError(err)
	}
	if sp == nil {
		return notFound(fmt.Sprintf("Spend not known: output %s:%d is not in the UTXO set and no input of the last %d "+
			"blocks spent it (satnode keeps spends only for its undo depth of %d blocks, finality_depth+1). It was "+
			"spent before those blocks, or it never existed: satnode keeps no transaction index to tell which.",
			q.hash, q.vout, searched, depth))
	}
	hdr, err := v.Reader.Header(sp.Height)
	if err != nil {
		return lookupError(err)
	}
	height, vin := sp.Height, sp.Vin
	writeJSON(w, spendingValue{Spent: true, TxID: sp.TxID.String(), Vin: &vin, Status: &txStatus{Confirmed: true,
		BlockHeight: &height, BlockHash: hdr.BlockHash().String(), BlockTime: uint32(hdr.Timestamp.Unix())}},
		ttlByDepth(v.Tip.Height, sp.Height))
	return nil
}
