package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/tx"
)

// expect finalizes one block with txs and requires their codes, in order.
func (h *harness) expect(codes []tx.Code, txs ...[]byte) {
	h.t.Helper()
	res := h.block(txs...)
	for i, r := range res.TxResults {
		if tx.Code(r.Code) != codes[i] {
			h.t.Fatalf("block %d tx %d: code %s (%s), want %s", h.height, i, tx.Code(r.Code), r.Log, codes[i])
		}
	}
}

// mine finds a nonce for hdr below its target (regtest: a few tries), or,
// with bad, one above it.
func mine(t *testing.T, hdr *wire.BlockHeader, bad bool) {
	t.Helper()
	target := blockchain.CompactToBig(hdr.Bits)
	for n := uint32(0); n < 1<<20; n++ {
		hdr.Nonce = n
		hash := hdr.BlockHash()
		ok := blockchain.HashToBig(&hash).Cmp(target) <= 0
		if ok != bad {
			return
		}
	}
	t.Fatal("no nonce found")
}

func headerTx(h *harness, hdr *wire.BlockHeader) []byte {
	var buf bytes.Buffer
	if err := hdr.Serialize(&buf); err != nil {
		h.t.Fatal(err)
	}
	return h.sign(h.sync, tx.SubmitHeaders{Headers: [][80]byte{[80]byte(buf.Bytes())}})
}

func header(t *testing.T, raw []byte) wire.BlockHeader {
	var hdr wire.BlockHeader
	if err := hdr.Deserialize(bytes.NewReader(raw[:80])); err != nil {
		t.Fatal(err)
	}
	return hdr
}

// TestTxSequence runs every transaction kind through FinalizeBlock, with
// its success and the rejections the issue names, each with its stable
// code.
func TestTxSequence(t *testing.T) {
	chain := genChain(t, 3, 12)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6}})
	v0, v1 := h.vals[0], h.vals[1]
	alice, bob := newActor("alice"), newActor("bob")
	OK := tx.CodeOK

	// Garbage, a bad signature, a reused nonce.
	bad := h.sign(v0.op, tx.Transfer{To: alice.addr, Amount: 5})
	bad[40] ^= 1  // inside the signature
	v0.op.nonce-- // the chain never saw it
	h.expect([]tx.Code{tx.CodeMalformed, tx.CodeMalformed, tx.CodeBadSignature}, []byte{}, []byte{0xff, 1, 2}, bad)
	reuse := h.sign(v0.op, tx.Transfer{To: alice.addr, Amount: 100e6})
	h.expect([]tx.Code{OK, tx.CodeBadNonce}, reuse, reuse)

	// Transfer, insufficient balance.
	big := h.sign(alice, tx.Transfer{To: bob.addr, Amount: 100e6 + 1})
	// A rejected message still uses its nonce: alice's next is 2.
	h.expect([]tx.Code{tx.CodeInsufficientBalance, OK}, big, h.sign(alice, tx.Transfer{To: bob.addr, Amount: 10e6}))

	// CreateValidator (alice), Delegate, unknown validator, Undelegate.
	cons := newValidatorKeys(7)
	h.expect([]tx.Code{OK}, h.sign(alice, tx.CreateValidator{ConsensusKey: [32]byte(cons.cons), EndorserKey: cons.endorser.addr,
		CommissionBps: 500, Moniker: "alice", SelfStake: 2e6}))
	h.expect([]tx.Code{OK, tx.CodeUnknownValidator, OK},
		h.sign(bob, tx.Delegate{Validator: alice.addr, Amount: 3e6}),
		h.sign(bob, tx.Delegate{Validator: bob.addr, Amount: 1e6}),
		h.sign(bob, tx.Undelegate{Validator: alice.addr, Amount: 1e6}))

	// RegisterSynchronizer; submitting headers unregistered; headers.
	hdr1 := header(t, chain[1])
	if err := h.bodies.Add(chain[1]); err != nil {
		t.Fatal(err)
	}
	hdr1tx := func(a *actor) []byte {
		var buf bytes.Buffer
		_ = hdr1.Serialize(&buf)
		return h.sign(a, tx.SubmitHeaders{Headers: [][80]byte{[80]byte(buf.Bytes())}})
	}
	h.expect([]tx.Code{tx.CodeUnregisteredSynchronizer, OK, OK}, hdr1tx(bob),
		h.sign(bob, tx.RegisterSynchronizer{Bond: h.app.params.MinSynchronizerBond, Payout: bob.addr}), hdr1tx(bob))
	h.mustOK(h.submit(chain[2:6])...)

	// Header rules: bad PoW, wrong bits, time at the median time past, too
	// far ahead of the block time, unknown parent.
	tip := header(t, chain[5])
	next := func() wire.BlockHeader {
		return wire.BlockHeader{Version: 0x20000000, PrevBlock: tip.BlockHash(), MerkleRoot: chainhash.Hash{1},
			Timestamp: tip.Timestamp.Add(time.Second), Bits: tip.Bits}
	}
	badPow := next()
	mine(t, &badPow, true)
	wrongBits := next()
	wrongBits.Bits = 0x207ffffe
	mine(t, &wrongBits, false)
	atMTP := next()
	atMTP.Timestamp = header(t, chain[3]).Timestamp // the median of the last 11 (6 headers + genesis)
	mine(t, &atMTP, false)
	future := next()
	future.Timestamp = h.now.Add(5*time.Second + 2*time.Hour + time.Second).Truncate(time.Second).Add(time.Second)
	mine(t, &future, false)
	orphan := next()
	orphan.PrevBlock = chainhash.Hash{9}
	mine(t, &orphan, false)
	h.expect([]tx.Code{tx.CodeBadPoW, tx.CodeWrongBits, tx.CodeTimeTooOld, tx.CodeTimeTooNew, tx.CodeUnknownParent},
		headerTx(h, &badPow), headerTx(h, &wrongBits), headerTx(h, &atMTP), headerTx(h, &future), headerTx(h, &orphan))

	// Endorse: not an endorser, unknown block, success.
	h.expect([]tx.Code{tx.CodeNotEndorser, tx.CodeUnknownBlock, OK, OK, OK},
		h.sign(alice, tx.Endorse{Items: []tx.Endorsement{{Height: 1, Hash: hdr1.BlockHash()}}}),
		h.sign(v0.endorser, tx.Endorse{Items: []tx.Endorsement{{Height: 2, Hash: hdr1.BlockHash()}}}),
		h.endorse(0, 1, chain[1:6])[0], h.endorse(1, 1, chain[1:6])[0], h.endorse(2, 1, chain[1:6])[0])
	if h.btcTip() != 5 {
		t.Fatalf("tip %d after endorsement", h.btcTip())
	}

	// WithdrawRewards (v0 endorsed five paid blocks), Unjail: not jailed,
	// then jailed by dropping below the minimum self-stake, then freed.
	h.expect([]tx.Code{OK, tx.CodeNotJailed}, h.sign(v0.op, tx.WithdrawRewards{Validator: v0.op.addr}), h.sign(v1.op, tx.Unjail{}))
	h.expect([]tx.Code{OK}, h.sign(v1.op, tx.Undelegate{Validator: v1.op.addr, Amount: 9_500_000}))
	if val, _ := h.app.stake.Validator(v1.op.addr); !val.Jailed {
		t.Fatal("a validator below its minimum self-stake is not jailed")
	}
	h.expect([]tx.Code{OK, OK}, h.sign(v1.op, tx.Delegate{Validator: v1.op.addr, Amount: 2e6}), h.sign(v1.op, tx.Unjail{}))
	if val, _ := h.app.stake.Validator(v1.op.addr); val.Jailed {
		t.Fatal("unjail did not free the validator")
	}
}
