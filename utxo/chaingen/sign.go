package chaingen

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// SignError reports a failure to sign an input. It indicates a bug in the
// generator, not a configuration problem.
type SignError struct {
	Height int32
	Tx     int // index in the block, coinbase = 0
	Input  int
	Err    error
}

func (e *SignError) Error() string {
	return fmt.Sprintf("chaingen: signing block %d tx %d input %d: %v", e.Height, e.Tx, e.Input, e.Err)
}

func (e *SignError) Unwrap() error { return e.Err }

// signBlock signs and hashes every planned transaction using up to workers
// goroutines. Workers take transactions in increasing order and a
// transaction waits only for its in-block parents (lower indexes, already
// taken by some worker), so there is no deadlock; the result is independent
// of scheduling because signing is a pure function of the transaction.
func (g *Generator) signBlock(b *blockBuilder) error {
	plans := b.plans
	workers := min(g.workers, len(plans))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(plans) {
					return
				}
				g.signTx(b, i)
			}
		}()
	}
	wg.Wait()
	for _, p := range plans {
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

func (g *Generator) signTx(b *blockBuilder, i int) {
	p := b.plans[i]
	defer close(p.done)
	tx := p.tx
	for k, in := range p.ins {
		if in.parent < 0 {
			continue
		}
		parent := b.plans[in.parent]
		<-parent.done
		if parent.err != nil {
			p.err = parent.err
			return
		}
		tx.TxIn[k].PreviousOutPoint.Hash = parent.txid
	}
	var (
		fetcher   *txscript.MultiPrevOutFetcher
		sigHashes *txscript.TxSigHashes
	)
	if p.witness {
		fetcher = txscript.NewMultiPrevOutFetcher(make(map[wire.OutPoint]*wire.TxOut, len(p.ins)))
		for k, in := range p.ins {
			pk := g.keys.keys[in.coin.key].scripts[in.coin.typ].PkScript
			fetcher.AddPrevOut(tx.TxIn[k].PreviousOutPoint, wire.NewTxOut(in.coin.value, pk))
		}
		sigHashes = txscript.NewTxSigHashes(tx, fetcher)
	}
	for k, in := range p.ins {
		if err := g.signInput(tx, k, in.coin, sigHashes, fetcher); err != nil {
			p.err = &SignError{Height: b.height, Tx: i + 1, Input: k, Err: err}
			return
		}
	}
	p.txid = tx.TxHash()
	p.wtxid = p.txid
	if p.witness {
		p.wtxid = tx.WitnessHash()
	}
	p.size = tx.SerializeSize()
	p.stripSize = tx.SerializeSizeStripped()
	g.txids[b.firstTx+1+uint32(i)] = p.txid
}

// signInput fills the scriptSig and/or witness of input idx. The public key
// comes from the key cache because btcec recomputes it (a scalar
// multiplication) on every PubKey call, which txscript.SignatureScript and
// txscript.WitnessSignature would do per input.
func (g *Generator) signInput(tx *wire.MsgTx, idx int, c coin, sigHashes *txscript.TxSigHashes, fetcher txscript.PrevOutputFetcher) error {
	k := &g.keys.keys[c.key]
	sc := &k.scripts[c.typ]
	in := tx.TxIn[idx]
	switch c.typ {
	case ScriptP2PKH, ScriptP2SHP2PK, ScriptP2SHMultisig:
		sub := sc.PkScript
		if c.typ != ScriptP2PKH {
			sub = sc.RedeemScript
		}
		sig, err := txscript.RawTxInSignature(tx, idx, sub, txscript.SigHashAll, k.priv)
		if err != nil {
			return err
		}
		switch c.typ {
		case ScriptP2PKH:
			in.SignatureScript = pushes(nil, sig, k.pub)
		case ScriptP2SHP2PK:
			in.SignatureScript = pushes(nil, sig, sc.RedeemScript)
		default:
			// OP_0 is the dummy element CHECKMULTISIG pops.
			in.SignatureScript = pushes([]byte{txscript.OP_0}, sig, sc.RedeemScript)
		}
	case ScriptP2SHP2WPKH, ScriptP2WPKH:
		sub := sc.PkScript
		if c.typ == ScriptP2SHP2WPKH {
			sub = sc.RedeemScript
			in.SignatureScript = pushes(nil, sc.RedeemScript)
		}
		sig, err := txscript.RawTxInWitnessSignature(tx, sigHashes, idx, c.value, sub, txscript.SigHashAll, k.priv)
		if err != nil {
			return err
		}
		in.Witness = wire.TxWitness{sig, k.pub}
	case ScriptP2WSHP2PK, ScriptP2WSHMultisig:
		sig, err := txscript.RawTxInWitnessSignature(tx, sigHashes, idx, c.value, sc.WitnessScript, txscript.SigHashAll, k.priv)
		if err != nil {
			return err
		}
		if c.typ == ScriptP2WSHP2PK {
			in.Witness = wire.TxWitness{sig, sc.WitnessScript}
		} else {
			in.Witness = wire.TxWitness{{}, sig, sc.WitnessScript}
		}
	case ScriptP2TR:
		hash, err := txscript.CalcTaprootSignatureHash(sigHashes, txscript.SigHashDefault, tx, idx, fetcher)
		if err != nil {
			return err
		}
		// The tweak is precomputed per key; Sign uses deterministic
		// BIP340/RFC6979 nonces. FastSign skips the self-verification,
		// which btcd's validation in the tests covers.
		sig, err := schnorr.Sign(k.tweaked, hash, schnorr.FastSign())
		if err != nil {
			return err
		}
		in.Witness = wire.TxWitness{sig.Serialize()}
	default:
		return &ScriptTypeError{Type: c.typ}
	}
	return nil
}

// pushes appends minimal direct pushes of items (each at most 75 bytes,
// which all signatures, keys and redeem scripts here are) to prefix.
func pushes(prefix []byte, items ...[]byte) []byte {
	n := len(prefix)
	for _, it := range items {
		n += 1 + len(it)
	}
	s := make([]byte, 0, n)
	s = append(s, prefix...)
	for _, it := range items {
		if len(it) > txscript.OP_DATA_75 {
			panic("chaingen: push longer than 75 bytes")
		}
		s = append(s, byte(len(it)))
		s = append(s, it...)
	}
	return s
}
