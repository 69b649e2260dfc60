package esplora

import (
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/satnode/satnode/utxo/query"
)

// Esplora's messages for an address it cannot use. Esplora (rust-bitcoin)
// words its parse errors by the stage that failed; clients show these
// bodies as they are, so they are kept word for word.
const (
	msgWrongNetwork  = "Address on invalid network"
	msgBech32        = "bech32 segwit decoding error"
	msgBase58        = "base58 error"
	msgLegacyTooLong = "legacy address base58 string"
	msgLegacyLength  = "legacy address base58 data"
	msgLegacyPrefix  = "legacy address base58 prefix"
	// maxLegacyLen is rust-bitcoin's bound on a base58 address string.
	maxLegacyLen = 50
)

// otherNets are the networks an address is tried against, once it failed
// on the node's own, to tell a wrong-network address from garbage.
func otherNets() []*chaincfg.Params {
	return []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.SigNetParams,
		&chaincfg.RegressionNetParams}
}

// addressScriptHash returns the Esplora script hash of the output script
// an address of network net pays to, or a 400 *Error with Esplora's
// message.
func addressScriptHash(addr string, net *chaincfg.Params) ([32]byte, *Error) {
	segwit := hasSegwitHRP(addr)
	// btcutil also takes a hex public key for an "address" (paying to a
	// bare key); Esplora takes only real addresses, and refuses any
	// non-bech32 string this long before decoding it.
	if !segwit && len(addr) > maxLegacyLen {
		return [32]byte{}, badRequest(msgLegacyTooLong)
	}
	script, err := query.ScriptForAddress(addr, net)
	if err != nil {
		return [32]byte{}, badRequest(addressErrorMessage(addr, net, segwit))
	}
	return query.ScriptHashOf(script), nil
}

// addressErrorMessage names, in Esplora's words, why addr is no address of
// network net.
func addressErrorMessage(addr string, net *chaincfg.Params, segwit bool) string {
	for _, p := range otherNets() {
		if p.Name == net.Name {
			continue
		}
		if a, err := btcutil.DecodeAddress(addr, p); err == nil && a.IsForNet(p) {
			if _, isKey := a.(*btcutil.AddressPubKey); !isKey {
				return msgWrongNetwork
			}
		}
	}
	if segwit {
		return msgBech32
	}
	payload, _, err := base58.CheckDecode(addr)
	switch {
	case err != nil:
		return msgBase58
	case len(payload) != 20:
		return msgLegacyLength
	default:
		// A well-formed base58check string of 21 bytes whose version byte
		// is no network's P2PKH or P2SH prefix.
		return msgLegacyPrefix
	}
}

// hasSegwitHRP reports whether addr starts with a Bitcoin bech32 prefix,
// which decides, as in rust-bitcoin, that it is parsed as bech32.
func hasSegwitHRP(addr string) bool {
	// Only the first few bytes matter; lowering a huge string would not.
	head := addr[:min(len(addr), 5)]
	head = strings.ToLower(head)
	return strings.HasPrefix(head, "bc1") || strings.HasPrefix(head, "tb1") || strings.HasPrefix(head, "bcrt1")
}
