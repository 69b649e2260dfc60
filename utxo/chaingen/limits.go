package chaingen

import "github.com/btcsuite/btcd/wire"

// Caps on transaction shapes; they bound the worst-case transaction weight
// the block builder must keep in reserve.
const (
	maxNormalInputs        = 20
	maxLegacyInputs        = 20
	maxBatchInputs         = 60
	extraConsolidationIns  = 20
	maxConsolidationInputs = 1000
	maxBatchOutputs        = 2000
	maxOpReturnData        = 75
	// coinbaseReserve is weight kept free for the coinbase transaction.
	coinbaseReserve = 1000
	coinbaseSigops  = 8
)

// inputWeight is an upper bound of the weight of one input by type
// (outpoint, sequence, scriptSig with a 73-byte signature, and witness,
// including the empty witness count byte legacy inputs carry in a witness
// transaction).
func inputWeight(t ScriptType) int64 {
	switch t {
	case ScriptP2PKH:
		return 4*(41+108) + 1
	case ScriptP2SHP2PK:
		return 4*(41+110) + 1
	case ScriptP2SHMultisig:
		return 4*(41+113) + 1
	case ScriptP2SHP2WPKH:
		return 4*(41+23) + 109
	case ScriptP2WPKH:
		return 4*41 + 109
	case ScriptP2WSHP2PK:
		return 4*41 + 111
	case ScriptP2WSHMultisig:
		return 4*41 + 148
	case ScriptP2TR:
		return 4*41 + 66
	}
	panic("chaingen: inputWeight of unspendable type")
}

// inputSigops is the exact BIP141 sigop cost of spending each type: P2SH
// redeem scripts count (accurately) times 4, witness scripts count 1 per
// signature check, the scriptSigs themselves are push-only.
func inputSigops(t ScriptType) int {
	switch t {
	case ScriptP2SHP2PK, ScriptP2SHMultisig:
		return 4
	case ScriptP2SHP2WPKH, ScriptP2WPKH, ScriptP2WSHP2PK:
		return 1
	case ScriptP2WSHMultisig:
		return 2
	}
	return 0
}

// outputSigops is the legacy sigop cost (times 4) of an output script:
// only P2PKH contains an OP_CHECKSIG. Legacy counting applies to outputs
// of every transaction, so P2PKH batch payouts are what fills the sigop
// budget.
func outputSigops(t ScriptType) int {
	if t == ScriptP2PKH {
		return 4
	}
	return 0
}

func pkScriptLen(t ScriptType) int64 {
	switch t {
	case ScriptP2PKH:
		return 25
	case ScriptP2SHP2PK, ScriptP2SHMultisig, ScriptP2SHP2WPKH:
		return 23
	case ScriptP2WPKH:
		return 22
	}
	return 34 // P2WSH, P2TR
}

func outputWeight(t ScriptType) int64 { return 4 * (8 + 1 + pkScriptLen(t)) }

func nullDataWeight(n int) int64 { return 4 * int64(8+1+2+n) }

func varIntLen(n int) int64 { return int64(wire.VarIntSerializeSize(uint64(n))) }

func feeFor(weight, rate int64) int64 { return rate * ((weight + 3) / 4) }

// worstCaseTx bounds the weight and sigop cost of any transaction the
// builder can produce; a block stops taking transactions when less than
// this is left, so the limits can never be exceeded.
func worstCaseTx(cfg *Config) (int64, int) {
	maxIn, maxOut := inputWeight(ScriptP2SHMultisig), outputWeight(ScriptP2TR)
	nd := nullDataWeight(maxOpReturnData)
	overhead := int64(4*(4+4+9+9) + 2)
	normal := maxNormalInputs*maxIn + 3*maxOut + nd
	batch := maxBatchInputs*maxIn + int64(cfg.BatchOutputs[1]+1)*maxOut + nd
	cons := int64(cfg.ConsolidationInputs[1]+extraConsolidationIns)*inputWeight(ScriptP2WSHMultisig) + maxOut
	w := max(normal, batch, cons) + overhead
	sNormal := maxNormalInputs*4 + 3*4
	sBatch := maxBatchInputs*4 + (cfg.BatchOutputs[1]+1)*4
	sCons := (cfg.ConsolidationInputs[1]+extraConsolidationIns)*2 + 4
	return w, max(sNormal, sBatch, sCons)
}
