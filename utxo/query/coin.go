package query

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"

	"github.com/satnode/satnode/utxo"
)

// TxOut is Bitcoin Core's gettxout answer, plus the coin's height.
type TxOut struct {
	BestBlock     string       `json:"bestblock"`
	Confirmations int32        `json:"confirmations"`
	Value         Amount       `json:"value"`
	ScriptPubKey  ScriptPubKey `json:"scriptPubKey"`
	Coinbase      bool         `json:"coinbase"`
	Height        int32        `json:"height"`
}

// ScriptPubKey describes an output script the way Core's ScriptToUniv
// does: assembly, hex, the address when there is exactly one, and the type
// name (pubkeyhash, witness_v0_keyhash, witness_v1_taproot, ...).
type ScriptPubKey struct {
	Asm     string `json:"asm"`
	Hex     string `json:"hex"`
	Address string `json:"address,omitempty"`
	Type    string `json:"type"`
}

// DescribeScript fills a ScriptPubKey for script on the given network.
func DescribeScript(script []byte, net *chaincfg.Params) ScriptPubKey {
	asm, err := txscript.DisasmString(script)
	if err != nil {
		asm = "[error]"
	}
	class, addrs, _, _ := txscript.ExtractPkScriptAddrs(script, net)
	spk := ScriptPubKey{Asm: asm, Hex: hex.EncodeToString(script), Type: class.String()}
	// Core shows no address for bare public keys and multisig.
	if len(addrs) == 1 && class != txscript.PubKeyTy && class != txscript.MultiSigTy {
		spk.Address = addrs[0].EncodeAddress()
	}
	return spk
}

// ParseOutpoint parses TXID:VOUT, the txid in the usual (byte-reversed)
// hex.
func ParseOutpoint(s string) (utxo.Outpoint, error) {
	txid, vout, ok := strings.Cut(s, ":")
	if !ok {
		return utxo.Outpoint{}, fmt.Errorf("query: outpoint %q is not TXID:VOUT", s)
	}
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil || len(txid) != 64 {
		return utxo.Outpoint{}, fmt.Errorf("query: txid %q is not 64 hex digits", txid)
	}
	n, err := strconv.ParseUint(vout, 10, 32)
	if err != nil {
		return utxo.Outpoint{}, fmt.Errorf("query: vout %q is not a 32-bit number", vout)
	}
	return utxo.Outpoint{Hash: *h, Index: uint32(n)}, nil
}

// GetTxOut returns the unspent output at op, or an error wrapping
// utxo.ErrNotFound if it is spent or never existed (where Core returns
// null).
func GetTxOut(r *utxo.Reader, net *chaincfg.Params, op utxo.Outpoint) (*TxOut, error) {
	st, err := r.State()
	if err != nil {
		return nil, err
	}
	c, err := r.Coin(op)
	if err != nil {
		return nil, fmt.Errorf("query: %s: %w", op, err)
	}
	return &TxOut{
		BestBlock: st.TipHash.String(), Confirmations: st.TipHeight - c.Height + 1,
		Value: Amount(c.Value), ScriptPubKey: DescribeScript(c.Script, net), Coinbase: c.Coinbase, Height: c.Height,
	}, nil
}

// ScriptForAddress returns the output script an address pays to.
func ScriptForAddress(addr string, net *chaincfg.Params) ([]byte, error) {
	a, err := btcutil.DecodeAddress(addr, net)
	if err != nil {
		return nil, fmt.Errorf("query: address %q: %w", addr, err)
	}
	if !a.IsForNet(net) {
		return nil, fmt.Errorf("query: address %q is not a %s address", addr, net.Name)
	}
	return txscript.PayToAddrScript(a)
}
