package utxo

import (
	"bytes"
	"math/big"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// maxBlockWeight is BIP141's MAX_BLOCK_WEIGHT.
const maxBlockWeight = 4_000_000

// CheckBlock runs the context-free checks of a block about to be connected
// at height: proof of work against its bits, the transaction list's shape,
// output values, duplicate inputs, the merkle root (with the CVE-2012-2459
// duplicate-tail mutation), the witness commitment, and the weight. It reads
// nothing from the store, so it may run on any goroutine before Connect.
//
// It does not check that the bits are right for the height (retargeting),
// timestamps, sigops or script validity: those belong to full header
// validation (the consensus layer) and to the optional script check.
func CheckBlock(b *Block, p *Params, height int32) error {
	if b.checked == (checkMark{p, height, true}) {
		return nil
	}
	if err := checkBlock(b, p, height); err != nil {
		return err
	}
	b.checked = checkMark{p, height, true}
	return nil
}

func checkBlock(b *Block, p *Params, height int32) error {
	if err := checkProofOfWork(b, p); err != nil {
		return err
	}
	if len(b.Txs) == 0 {
		return ruleError(ErrNoTransactions, "block has no transactions")
	}
	// Merkle root first: any change to a transaction shows up here, and
	// Core reports it before the other transaction checks.
	root, mutated := merkleRoot(b.TxIDs)
	if root != b.Header.MerkleRoot {
		return ruleError(ErrBadMerkleRoot, "merkle root %s does not match header %s", root, b.Header.MerkleRoot)
	}
	if mutated {
		return ruleError(ErrMutatedMerkle, "transaction list is a duplicated-tail mutation (CVE-2012-2459)")
	}
	if !isCoinbase(b.Txs[0]) {
		return ruleError(ErrFirstTxNotCoinbase, "first transaction is not a coinbase")
	}
	for i := 1; i < len(b.Txs); i++ {
		if isCoinbase(b.Txs[i]) {
			return ruleError(ErrMultipleCoinbases, "transaction %d is a second coinbase", i)
		}
	}
	for i := range b.Txs {
		if err := checkTransaction(b, i); err != nil {
			return err
		}
	}
	if err := checkWitnessCommitment(b, p, height); err != nil {
		return err
	}
	if w := b.Weight(); w > maxBlockWeight {
		return ruleError(ErrBlockTooHeavy, "block weight %d exceeds %d", w, maxBlockWeight)
	}
	return nil
}

// checkTransaction is Core's CheckTransaction for transaction i.
func checkTransaction(b *Block, i int) error {
	tx := b.Txs[i]
	if len(tx.TxIn) == 0 {
		return ruleError(ErrNoTxInputs, "transaction %d has no inputs", i)
	}
	if len(tx.TxOut) == 0 {
		return ruleError(ErrNoTxOutputs, "transaction %d has no outputs", i)
	}
	var total int64
	for j, out := range tx.TxOut {
		if out.Value < 0 || out.Value > MaxMoney {
			return ruleError(ErrBadTxOutValue, "transaction %d output %d value %d out of range", i, j, out.Value)
		}
		total += out.Value
		if total > MaxMoney {
			return ruleError(ErrBadTxOutValue, "transaction %d outputs total more than 21M BTC", i)
		}
	}
	if i == 0 {
		n := len(tx.TxIn[0].SignatureScript)
		if n < 2 || n > 100 {
			return ruleError(ErrBadCoinbaseScriptLen, "coinbase script of %d bytes is outside 2..100", n)
		}
		return nil
	}
	// Duplicate inputs: a map only for large transactions; small ones are
	// cheaper to compare pairwise.
	ins := tx.TxIn
	if len(ins) <= 16 {
		for a := range ins {
			for c := a + 1; c < len(ins); c++ {
				if ins[a].PreviousOutPoint == ins[c].PreviousOutPoint {
					return ruleError(ErrDuplicateTxInputs, "transaction %d spends %s twice", i, ins[a].PreviousOutPoint)
				}
			}
		}
	} else {
		seen := make(map[Outpoint]struct{}, len(ins))
		for _, in := range ins {
			op := Outpoint{in.PreviousOutPoint.Hash, in.PreviousOutPoint.Index}
			if _, dup := seen[op]; dup {
				return ruleError(ErrDuplicateTxInputs, "transaction %d spends %s twice", i, op)
			}
			seen[op] = struct{}{}
		}
	}
	for _, in := range ins {
		p := &in.PreviousOutPoint
		if p.Index == 0xffffffff && p.Hash == (chainhash.Hash{}) {
			return ruleError(ErrNullPrevOut, "transaction %d spends the null outpoint", i)
		}
	}
	return nil
}

// merkleRoot computes the merkle root of hashes and whether the tree is
// mutated: two identical hashes combined at any level, which is how the
// CVE-2012-2459 duplicate tail keeps the root of a different transaction
// list (Core's ComputeMerkleRoot).
func merkleRoot(hashes []chainhash.Hash) (chainhash.Hash, bool) {
	if len(hashes) == 0 {
		return chainhash.Hash{}, false
	}
	level := make([]chainhash.Hash, len(hashes), len(hashes)+1)
	copy(level, hashes)
	mutated := false
	var buf [64]byte
	for len(level) > 1 {
		for i := 0; i+1 < len(level); i += 2 {
			if level[i] == level[i+1] {
				mutated = true
			}
		}
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := 0; i < len(level)/2; i++ {
			copy(buf[:32], level[2*i][:])
			copy(buf[32:], level[2*i+1][:])
			level[i] = doubleSHA256(buf[:])
		}
		level = level[:len(level)/2]
	}
	return level[0], mutated
}

// witnessCommitmentHeader starts the BIP141 commitment output script:
// OP_RETURN, push 36, 0xaa21a9ed.
var witnessCommitmentHeader = []byte{0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed}

// checkWitnessCommitment is Core's witness part of ContextualCheckBlock: once
// segwit is active, a coinbase commitment (the last matching output) must
// equal SHA256d(witness merkle root ‖ reserved value), with the reserved
// value the coinbase's single 32-byte witness item; without a commitment, or
// before activation, no transaction may carry witness data.
func checkWitnessCommitment(b *Block, p *Params, height int32) error {
	if height >= p.SegwitHeight {
		cb := b.Txs[0]
		idx := -1
		for j, out := range cb.TxOut {
			if len(out.PkScript) >= 38 && bytes.HasPrefix(out.PkScript, witnessCommitmentHeader) {
				idx = j
			}
		}
		if idx >= 0 {
			w := cb.TxIn[0].Witness
			if len(w) != 1 || len(w[0]) != 32 {
				return ruleError(ErrBadWitnessCommitment, "coinbase witness reserved value must be one 32-byte item")
			}
			leaves := make([]chainhash.Hash, len(b.WTxIDs))
			copy(leaves[1:], b.WTxIDs[1:]) // the coinbase's wtxid counts as zero
			root, _ := merkleRoot(leaves)
			var buf [64]byte
			copy(buf[:32], root[:])
			copy(buf[32:], w[0])
			want := doubleSHA256(buf[:])
			if !bytes.Equal(want[:], cb.TxOut[idx].PkScript[6:38]) {
				return ruleError(ErrBadWitnessCommitment, "witness commitment does not match the witness merkle root")
			}
			return nil
		}
	}
	if b.HasWitness {
		return ruleError(ErrUnexpectedWitness, "block has witness data but no witness commitment")
	}
	return nil
}

// checkProofOfWork is Core's CheckProofOfWork: the bits must encode a
// positive target no easier than the network's limit, and the header hash
// must not exceed it.
func checkProofOfWork(b *Block, p *Params) error {
	target, ok := compactToBig(b.Header.Bits)
	if !ok || target.Sign() <= 0 || target.Cmp(p.Chain.PowLimit) > 0 {
		return ruleError(ErrHighHash, "bits %08x do not encode a valid target", b.Header.Bits)
	}
	if hashToBig(&b.Hash).Cmp(target) > 0 {
		return ruleError(ErrHighHash, "block hash %s is above its target", b.Hash)
	}
	return nil
}

// compactToBig decodes nBits; ok is false for negative or overflowing
// encodings, which Core rejects.
func compactToBig(c uint32) (*big.Int, bool) {
	mantissa := c & 0x007fffff
	negative := c&0x00800000 != 0
	exponent := uint(c >> 24)
	n := new(big.Int)
	if exponent <= 3 {
		n.SetUint64(uint64(mantissa >> (8 * (3 - exponent))))
	} else {
		n.SetUint64(uint64(mantissa))
		n.Lsh(n, 8*(exponent-3))
	}
	if mantissa != 0 && negative {
		return nil, false
	}
	if mantissa != 0 && (exponent > 34 || (mantissa > 0xff && exponent > 33) || (mantissa > 0xffff && exponent > 32)) {
		return nil, false
	}
	return n, true
}

// hashToBig interprets a block hash (stored little-endian) as a number.
func hashToBig(h *chainhash.Hash) *big.Int {
	var be [32]byte
	for i := range h {
		be[31-i] = h[i]
	}
	return new(big.Int).SetBytes(be[:])
}
