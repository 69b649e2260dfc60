package utxo

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// ScriptFlags are the consensus script-verification rules in force for a
// block, named after Core's SCRIPT_VERIFY_* flags.
type ScriptFlags uint32

const (
	FlagP2SH ScriptFlags = 1 << iota
	FlagDERSig
	FlagCLTV
	FlagCSV
	FlagWitness
	FlagNullDummy
	FlagTaproot
)

// scriptFlags is Core's GetBlockScriptFlags: P2SH, witness and taproot are
// on for every block except the listed exceptions, and the buried
// deployments switch on at their heights.
func (p *Params) scriptFlags(b *Block, height int32) ScriptFlags {
	flags := FlagP2SH | FlagWitness | FlagTaproot
	if f, ok := p.ScriptFlagExceptions[b.Hash]; ok {
		flags = f
	}
	if height >= p.DERSigHeight {
		flags |= FlagDERSig
	}
	if height >= p.CLTVHeight {
		flags |= FlagCLTV
	}
	if height >= p.CSVHeight {
		flags |= FlagCSV
	}
	if height >= p.SegwitHeight {
		flags |= FlagNullDummy
	}
	return flags
}

func (f ScriptFlags) txscript() txscript.ScriptFlags {
	var out txscript.ScriptFlags
	for _, m := range []struct {
		ours   ScriptFlags
		theirs txscript.ScriptFlags
	}{
		{FlagP2SH, txscript.ScriptBip16},
		{FlagDERSig, txscript.ScriptVerifyDERSignatures},
		{FlagCLTV, txscript.ScriptVerifyCheckLockTimeVerify},
		{FlagCSV, txscript.ScriptVerifyCheckSequenceVerify},
		{FlagWitness, txscript.ScriptVerifyWitness},
		{FlagNullDummy, txscript.ScriptStrictMultiSig},
		{FlagTaproot, txscript.ScriptVerifyTaproot},
	} {
		if f&m.ours != 0 {
			out |= m.theirs
		}
	}
	return out
}

// verifyScripts runs btcd's script interpreter on every input of the block's
// non-coinbase transactions, spread over the CPUs. prevouts[i] holds the
// spent outputs of transaction i in input order.
func verifyScripts(b *Block, prevouts [][]*wire.TxOut, flags ScriptFlags, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	tf := flags.txscript()
	sigCache := txscript.NewSigCache(0)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		firstTx  = len(b.Txs)
	)
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := verifyTx(b.Txs[i], prevouts[i], tf, sigCache); err != nil {
					mu.Lock()
					// Report the first failing transaction in block order,
					// whatever the goroutine timing, so errors are stable.
					if i < firstTx {
						firstTx, firstErr = i, fmt.Errorf("transaction %d (%s): %w", i, b.TxIDs[i], err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 1; i < len(b.Txs); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return ruleError(ErrScriptValidation, "%v", firstErr)
	}
	return nil
}

func verifyTx(tx *wire.MsgTx, prevouts []*wire.TxOut, flags txscript.ScriptFlags, sc *txscript.SigCache) error {
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for j, in := range tx.TxIn {
		fetcher.AddPrevOut(in.PreviousOutPoint, prevouts[j])
	}
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for j := range tx.TxIn {
		vm, err := txscript.NewEngine(prevouts[j].PkScript, tx, j, flags, sc, hashes, prevouts[j].Value, fetcher)
		if err != nil {
			return fmt.Errorf("input %d: %w", j, err)
		}
		if err := vm.Execute(); err != nil {
			return fmt.Errorf("input %d: %w", j, err)
		}
	}
	return nil
}
