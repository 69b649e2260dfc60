package native_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/verify"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestProofs fetches proofs of coins that are unspent, spent, orphaned
// by a reorg and never created, at the latest commit and at an older one,
// and verifies each with rpc/verify against the app hash of its height.
func TestProofs(t *testing.T) {
	c := newChain(t, chaingen.DefaultConfig())
	_, srv := serve(t, c.Views, native.Options{})
	fork := c.Fork(7)
	c.Extend(2)
	// The commit before the reorg stays readable with ?height=.
	v0, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	oldHeight, oldAppHash := v0.Height, v0.AppHash
	v0.Release()
	// Coins of the tip block, which the reorg orphans.
	orphan := c.Blocks[122]
	c.Reorg(fork, 3)
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	appHash := v.AppHash
	v.Release()

	check := func(path string, hash [32]byte, wantUnspent *bool) *verify.UTXOResult {
		t.Helper()
		_, body := get(t, srv, path, http.StatusOK, nil)
		p, err := verify.DecodeUTXOProof(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		res, err := verify.VerifyUTXO(p, hash[:])
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rawICS23(t, path, p, hash)
		if wantUnspent != nil && res.Unspent != *wantUnspent {
			t.Fatalf("%s: unspent %v", path, res.Unspent)
		}
		if len(body) > 2048 {
			t.Logf("%s: %d bytes", path, len(body))
		}
		return res
	}
	yes, no := true, false
	// Unspent: every output of the new tip's coinbase; spent: the
	// coinbase of block 1, spent long ago by the generator (not checked:
	// the generator decides), orphaned: the old tip's transactions.
	tip := c.Blocks[len(c.Blocks)-1]
	for i := range tip.Transactions[0].TxOut {
		check(fmt.Sprintf("/v1/proof/utxo/%s/%d", tip.Transactions[0].TxHash(), i), appHash, &yes)
	}
	for _, tx := range orphan.Transactions {
		check(fmt.Sprintf("/v1/proof/utxo/%s/0", tx.TxHash()), appHash, &no)
		// At the older height, before the reorg, they were unspent.
		check(fmt.Sprintf("/v1/proof/utxo/%s/0?height=%d", tx.TxHash(), oldHeight), oldAppHash, nil)
	}
	for i := range 20 {
		check(fmt.Sprintf("/v1/proof/utxo/%064x/%d", i*7919+1, i), appHash, &no)
	}
	// A proof of one height does not verify against another's app hash.
	_, body := get(t, srv, fmt.Sprintf("/v1/proof/utxo/%s/0", tip.Transactions[0].TxHash()), http.StatusOK, nil)
	p, err := verify.DecodeUTXOProof(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyUTXO(p, oldAppHash[:]); err == nil {
		t.Fatal("a proof verified against another height's app hash")
	}
	get(t, srv, "/v1/proof/utxo/"+tip.Transactions[0].TxHash().String()+"/0?height=99999", http.StatusNotFound, nil)
	get(t, srv, "/v1/proof/utxo/zz/0", http.StatusBadRequest, nil)

	// Reserves: an address of the generator's coins, paged.
	script := tip.Transactions[0].TxOut[0].PkScript
	addrs, err := addressesOf(script)
	if err != nil {
		t.Skipf("coinbase script has no address: %v", err)
	}
	_, body = get(t, srv, "/v1/proof/address/"+addrs+"?limit=5", http.StatusOK, nil)
	rp, err := verify.DecodeReservesProof(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := verify.VerifyReserves(rp, appHash[:])
	if err != nil {
		t.Fatal(err)
	}
	if res.Coins == 0 || res.Total <= 0 {
		t.Fatalf("reserves: %d coins, total %d", res.Coins, res.Total)
	}
}

func addressesOf(script []byte) (string, error) {
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(script, &chaincfg.RegressionNetParams)
	if err != nil || len(addrs) != 1 {
		return "", fmt.Errorf("%v (%d addresses)", err, len(addrs))
	}
	return addrs[0].EncodeAddress(), nil
}

// rawICS23 checks a served proof with nothing but the ICS-23 library's
// own calls and specs: the coin (or its absence) against the UTXO root
// with SmtSpec, and the root against the app hash with TendermintSpec.
func rawICS23(t *testing.T, path string, p *verify.UTXOProof, appHash [32]byte) {
	t.Helper()
	proof, err := verify.DecodeProof(p.Proof)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	key := p.Outpoint.Key()
	if p.Unspent {
		if !ics23.VerifyMembership(ics23.SmtSpec, []byte(p.UTXORoot), proof, key, p.Coin.TreeValue()) {
			t.Fatalf("%s: ics23.VerifyMembership(SmtSpec) refused the coin", path)
		}
		// And the standard non-membership check refuses it.
		if proof.GetExist() != nil && ics23.VerifyNonMembership(ics23.SmtSpec, []byte(p.UTXORoot), proof, key) {
			t.Fatalf("%s: a membership proof passed as non-membership", path)
		}
	} else if !ics23.VerifyNonMembership(ics23.SmtSpec, []byte(p.UTXORoot), proof, key) {
		t.Fatalf("%s: ics23.VerifyNonMembership(SmtSpec) refused the absence", path)
	}
	rootProof, err := verify.DecodeProof(p.RootProof)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !ics23.VerifyMembership(ics23.TendermintSpec, appHash[:], rootProof, []byte("utxo"), []byte(p.UTXORoot)) {
		t.Fatalf("%s: ics23.VerifyMembership(TendermintSpec) refused the UTXO root in the app hash", path)
	}
}
