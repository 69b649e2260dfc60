package chaingen

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
)

// ScriptType is the kind of output script the generator creates.
type ScriptType uint8

// Output script types. All but ScriptNullData are spendable by the key the
// output was paid to.
const (
	// ScriptP2PKH is pay-to-pubkey-hash.
	ScriptP2PKH ScriptType = iota
	// ScriptP2SHP2PK is P2SH of the legacy redeem script <pubkey> OP_CHECKSIG.
	ScriptP2SHP2PK
	// ScriptP2SHMultisig is P2SH of a legacy 1-of-1 OP_CHECKMULTISIG.
	ScriptP2SHMultisig
	// ScriptP2SHP2WPKH is P2SH-wrapped P2WPKH (nested segwit).
	ScriptP2SHP2WPKH
	// ScriptP2WPKH is native segwit v0 pay-to-witness-pubkey-hash.
	ScriptP2WPKH
	// ScriptP2WSHP2PK is P2WSH of <pubkey> OP_CHECKSIG.
	ScriptP2WSHP2PK
	// ScriptP2WSHMultisig is P2WSH of 1-of-2 multisig (key, cosigner key);
	// the generator always signs with the first key.
	ScriptP2WSHMultisig
	// ScriptP2TR is a BIP86 key-path-only taproot output.
	ScriptP2TR
	// ScriptNullData is an OP_RETURN data carrier (unspendable).
	ScriptNullData

	numScriptTypes
)

// numSpendable is the number of spendable script types (all before
// ScriptNullData).
const numSpendable = int(ScriptNullData)

// String returns a short stable name for the type.
func (t ScriptType) String() string {
	switch t {
	case ScriptP2PKH:
		return "p2pkh"
	case ScriptP2SHP2PK:
		return "p2sh-p2pk"
	case ScriptP2SHMultisig:
		return "p2sh-multisig"
	case ScriptP2SHP2WPKH:
		return "p2sh-p2wpkh"
	case ScriptP2WPKH:
		return "p2wpkh"
	case ScriptP2WSHP2PK:
		return "p2wsh-p2pk"
	case ScriptP2WSHMultisig:
		return "p2wsh-multisig"
	case ScriptP2TR:
		return "p2tr"
	case ScriptNullData:
		return "nulldata"
	}
	return fmt.Sprintf("scripttype(%d)", uint8(t))
}

// Spendable reports whether outputs of this type can be spent.
func (t ScriptType) Spendable() bool { return t < ScriptNullData }

// Legacy reports whether spending this type uses only the scriptSig (no
// witness): the only kinds allowed before segwit activation, and the ones
// with quadratic legacy sighash cost.
func (t ScriptType) Legacy() bool {
	return t == ScriptP2PKH || t == ScriptP2SHP2PK || t == ScriptP2SHMultisig
}

// Key returns private key number index of the key pool derived from seed:
// SHA256(le64(seed) || "key" || le32(index)), rehashed in the negligible
// case the digest is not a valid secp256k1 scalar.
func Key(seed uint64, index uint32) *btcec.PrivateKey {
	return deriveKey(seed, "key", index)
}

// CosignerKey returns the second key of the 1-of-2 P2WSH multisig paid to
// key index: SHA256(le64(seed) || "cosigner" || le32(index)). The generator
// never signs with it.
func CosignerKey(seed uint64, index uint32) *btcec.PrivateKey {
	return deriveKey(seed, "cosigner", index)
}

func deriveKey(seed uint64, tag string, index uint32) *btcec.PrivateKey {
	buf := make([]byte, 0, 8+len(tag)+4)
	buf = binary.LittleEndian.AppendUint64(buf, seed)
	buf = append(buf, tag...)
	buf = binary.LittleEndian.AppendUint32(buf, index)
	h := sha256.Sum256(buf)
	for {
		var s btcec.ModNScalar
		if overflow := s.SetBytes(&h); overflow == 0 && !s.IsZero() {
			return btcec.PrivKeyFromScalar(&s)
		}
		h = sha256.Sum256(h[:])
	}
}

// Scripts are the scripts needed to recognise and spend an output.
type Scripts struct {
	// PkScript is the output script.
	PkScript []byte
	// RedeemScript is the P2SH redeem script (P2SH types only).
	RedeemScript []byte
	// WitnessScript is the P2WSH witness script (P2WSH types only).
	WitnessScript []byte
}

// ScriptsFor returns the scripts of an output of type t paid to key index of
// the pool derived from seed.
func ScriptsFor(seed uint64, index uint32, t ScriptType) (Scripts, error) {
	if !t.Spendable() {
		return Scripts{}, &ScriptTypeError{Type: t}
	}
	return buildScripts(Key(seed, index).PubKey(), CosignerKey(seed, index).PubKey().SerializeCompressed(), t), nil
}

// ScriptTypeError reports a script type that cannot be used where it was
// given.
type ScriptTypeError struct{ Type ScriptType }

func (e *ScriptTypeError) Error() string {
	return fmt.Sprintf("chaingen: script type %v not usable here", e.Type)
}

func buildScripts(pubKey *btcec.PublicKey, cosigner []byte, t ScriptType) Scripts {
	pub := pubKey.SerializeCompressed()
	pkh := btcutil.Hash160(pub)
	switch t {
	case ScriptP2PKH:
		return Scripts{PkScript: p2pkhScript(pkh)}
	case ScriptP2SHP2PK:
		redeem := p2pkScript(pub)
		return Scripts{PkScript: p2shScript(btcutil.Hash160(redeem)), RedeemScript: redeem}
	case ScriptP2SHMultisig:
		redeem := multisigScript(pub)
		return Scripts{PkScript: p2shScript(btcutil.Hash160(redeem)), RedeemScript: redeem}
	case ScriptP2SHP2WPKH:
		redeem := p2wpkhScript(pkh)
		return Scripts{PkScript: p2shScript(btcutil.Hash160(redeem)), RedeemScript: redeem}
	case ScriptP2WPKH:
		return Scripts{PkScript: p2wpkhScript(pkh)}
	case ScriptP2WSHP2PK:
		ws := p2pkScript(pub)
		h := sha256.Sum256(ws)
		return Scripts{PkScript: p2wshScript(h[:]), WitnessScript: ws}
	case ScriptP2WSHMultisig:
		ws := multisigScript(pub, cosigner)
		h := sha256.Sum256(ws)
		return Scripts{PkScript: p2wshScript(h[:]), WitnessScript: ws}
	case ScriptP2TR:
		out := txscript.ComputeTaprootKeyNoScript(pubKey)
		return Scripts{PkScript: append([]byte{txscript.OP_1, txscript.OP_DATA_32}, schnorr.SerializePubKey(out)...)}
	}
	panic("chaingen: buildScripts on unspendable type")
}

func p2pkhScript(h []byte) []byte {
	s := make([]byte, 0, 25)
	s = append(s, txscript.OP_DUP, txscript.OP_HASH160, txscript.OP_DATA_20)
	s = append(s, h...)
	return append(s, txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG)
}

func p2shScript(h []byte) []byte {
	s := make([]byte, 0, 23)
	s = append(s, txscript.OP_HASH160, txscript.OP_DATA_20)
	s = append(s, h...)
	return append(s, txscript.OP_EQUAL)
}

func p2wpkhScript(h []byte) []byte {
	return append([]byte{txscript.OP_0, txscript.OP_DATA_20}, h...)
}

func p2wshScript(h []byte) []byte {
	return append([]byte{txscript.OP_0, txscript.OP_DATA_32}, h...)
}

func p2pkScript(pub []byte) []byte {
	s := make([]byte, 0, 35)
	s = append(s, txscript.OP_DATA_33)
	s = append(s, pub...)
	return append(s, txscript.OP_CHECKSIG)
}

// multisigScript is a 1-of-len(pubs) bare multisig script.
func multisigScript(pubs ...[]byte) []byte {
	s := []byte{txscript.OP_1}
	for _, p := range pubs {
		s = append(s, txscript.OP_DATA_33)
		s = append(s, p...)
	}
	return append(s, txscript.OP_1+byte(len(pubs)-1), txscript.OP_CHECKMULTISIG)
}

// keyEntry caches everything derived from one pool key, because computing
// public keys and taproot tweaks costs a scalar multiplication each and
// would otherwise dominate signing time.
type keyEntry struct {
	priv    *btcec.PrivateKey
	tweaked *btcec.PrivateKey // BIP86 key-path signing key
	pub     []byte            // compressed public key
	scripts [numSpendable]Scripts
}

// keyring is the read-only key pool shared by the signing goroutines.
type keyring struct {
	keys []keyEntry
}

// newKeyring derives n keys in parallel; every entry depends only on
// (seed, index), so the result is deterministic.
func newKeyring(seed uint64, n, workers int) *keyring {
	kr := &keyring{keys: make([]keyEntry, n)}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				kr.keys[i] = newKeyEntry(seed, uint32(i))
			}
		}()
	}
	wg.Wait()
	return kr
}

func newKeyEntry(seed uint64, index uint32) keyEntry {
	priv := Key(seed, index)
	pubKey := priv.PubKey()
	cos := CosignerKey(seed, index).PubKey().SerializeCompressed()
	e := keyEntry{
		priv:    priv,
		tweaked: txscript.TweakTaprootPrivKey(*priv, nil),
		pub:     pubKey.SerializeCompressed(),
	}
	for t := range ScriptType(numSpendable) {
		e.scripts[t] = buildScripts(pubKey, cos, t)
	}
	return e
}
