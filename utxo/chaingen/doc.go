// Package chaingen deterministically generates a valid Bitcoin regtest chain
// with a mainnet-like transaction mix, for UTXO import benchmarks and for
// feeding a real btcd regtest node block by block.
//
// What it does:
//
//   - Emits the regtest genesis block as block 0, then blocks 1..N, each a
//     *wire.MsgBlock that btcd (chaincfg.RegressionNetParams) accepts with
//     full script validation: real proof of work at the regtest limit,
//     correct merkle roots, BIP34 height pushes, BIP141 witness commitments,
//     version 0x20000007 so CSV, segwit and taproot activate by BIP9
//     signalling at ActivationHeight (432), monotonically increasing
//     timestamps, coinbase maturity, weight and sigop limits, exact fee and
//     subsidy accounting (with occasional deliberately under-claimed
//     coinbases).
//   - Builds transactions from its own wallet: P2PKH, legacy P2SH
//     (P2PK and 1-of-1 multisig redeem scripts), P2SH-P2WPKH, P2WPKH,
//     P2WSH (P2PK and 1-of-2 multisig witness scripts), BIP86 key-path P2TR
//     and OP_RETURN outputs, in configurable proportions, with typical
//     payment+change shapes, large consolidations (segwit/taproot inputs
//     only, so sighashing stays linear), batch payouts (funded, like an
//     exchange's, from the previous batch's change), in-block spend chains,
//     and a mix of recent and very old inputs. Before activation only legacy
//     scripts are created and spent. Every output except OP_RETURN stays in
//     the generator's wallet until spent; Summary.FinalUTXOs is the UTXO set
//     size and Unspent lists it.
//   - Signs with real, deterministic signatures (RFC6979 low-S ECDSA, BIP340
//     Schnorr), in parallel across GOMAXPROCS goroutines, yet the output is
//     byte-identical for a given Config whatever the parallelism: all random
//     choices are made sequentially from one seeded PCG stream and signing
//     is a pure function of the transaction.
//   - Derives every key from the seed (see Key, CosignerKey, ScriptsFor), so
//     later tests can spend or look up the generated outputs; a few "hot"
//     addresses receive a large share of outputs.
//
// What it does not do:
//
//   - No file or network I/O: writing blk files or submitting blocks is the
//     caller's business.
//   - No chain other than regtest, no reorgs, no invalid blocks, no
//     tapscript (script-path) spends, no relative/absolute timelock scripts.
//   - It does not validate its own output; the tests do that with btcd.
package chaingen
