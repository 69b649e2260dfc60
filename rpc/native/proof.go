package native

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	ics23 "github.com/cosmos/ics23/go"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/rpc/verify"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
	"github.com/satnode/satnode/utxo/smt"
)

// Proofs (GET /v1/proof/utxo/:txid/:vout and /v1/proof/address/:addr)
// answer in rpc/verify's formats: the coin or its absence with an ICS-23
// proof against the UTXO tree's root, and the root and the Bitcoin tip
// with ICS-23 proofs against the app hash of the view's CometBFT height,
// which the header of the next height carries. A verifier checks that
// header with CometBFT's light client and trusts nothing else of ours.
//
// ?height=H answers from the commit of CometBFT height H, if it is among
// the last app.ProofWindow commits; without it, from the latest.

// maxAddressProofs caps the coins of one /v1/proof/address page: each
// costs a tree walk and about a kilobyte.
const maxAddressProofs = 500

// proofHeight reads ?height= (0 when absent).
func proofHeight(rawQuery string) (int64, *Error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return 0, badRequest("invalid query string: %v", err)
	}
	s, ok := vals["height"]
	if !ok {
		return 0, nil
	}
	h, err := strconv.ParseInt(s[0], 10, 64)
	if err != nil || h < 1 || len(s) != 1 {
		return 0, badRequest("invalid height %q: expected one CometBFT height", s[0])
	}
	return h, nil
}

// proofState is the part every proof shares: the app hash of the view and
// the UTXO root and Bitcoin tip proven against it.
func proofState(v *app.View) (verify.State, error) {
	if v.AppHashVersion != int(apphash.V2) {
		return verify.State{}, errorf(http.StatusNotImplemented,
			"this chain's app hash is version %d, which commits to no UTXO tree: proofs need version 2", v.AppHashVersion)
	}
	if v.Commitments.Root() != v.AppHash {
		return verify.State{}, errors.New("the view's commitments do not hash to its app hash")
	}
	c := &v.Commitments
	st := verify.State{
		ChainID: v.ChainID, Height: v.Height, HeaderHeight: v.Height + 1,
		AppHash: v.AppHash[:], AppHashVersion: int(apphash.V2),
		Bitcoin:  verify.BitcoinTip{Height: c.TipHeight, Hash: verify.BlockHash(c.TipHash)},
		UTXORoot: c.UTXORoot[:],
	}
	var err error
	if st.TipProof, err = commitmentProof(c, apphash.NameBTCTip); err != nil {
		return st, err
	}
	st.RootProof, err = commitmentProof(c, apphash.NameUTXO)
	return st, err
}

func commitmentProof(c *apphash.Commitments, name string) (verify.Hex, error) {
	p, _, err := c.Prove(name)
	if err != nil {
		return nil, err
	}
	return verify.EncodeProof(p)
}

// coinProof proves op in the view's tree.
func coinProof(v *app.View, op utxo.Outpoint) (*utxo.CoinProof, verify.Hex, error) {
	cp, err := v.Reader.ProveCoin(op)
	if errors.Is(err, utxo.ErrNoTree) {
		return nil, nil, errorf(http.StatusNotImplemented, "this node's store keeps no UTXO tree")
	}
	if err != nil {
		return nil, nil, err
	}
	if cp.Root != v.Commitments.UTXORoot {
		return nil, nil, errors.New("the store's UTXO tree root differs from the view's commitment")
	}
	key := utxo.TreeKey(op)
	if cp.Found {
		ep := verify.SMTExistence(key, utxo.TreeValue(&cp.Coin), smt.PathOf(key), cp.Siblings)
		hex, err := verify.EncodeProof(&ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: ep}})
		return cp, hex, err
	}
	var left, right *ics23.ExistenceProof
	for _, nb := range []struct {
		n   *utxo.NeighbourProof
		dst **ics23.ExistenceProof
	}{{cp.Left, &left}, {cp.Right, &right}} {
		if nb.n == nil {
			continue
		}
		k := utxo.TreeKey(nb.n.Outpoint)
		*nb.dst = verify.SMTExistence(k, utxo.TreeValue(&nb.n.Coin), smt.PathOf(k), nb.n.Siblings)
	}
	hex, err := verify.EncodeProof(verify.SMTNonExistence(key, left, right))
	return cp, hex, err
}

func provenCoin(c *utxo.Coin) verify.Coin {
	return verify.Coin{Value: c.Value, ScriptPubKey: c.Script, Height: c.Height, Coinbase: c.Coinbase}
}

// proofUTXO is GET /v1/proof/utxo/:txid/:vout.
func (h *Handler) proofUTXO(v *app.View, q *httpReq) (any, error) {
	op, err := query.ParseOutpoint(q.args[0] + ":" + q.args[1])
	if err != nil {
		return nil, badRequest("%v", err)
	}
	st, err := proofState(v)
	if err != nil {
		return nil, err
	}
	cp, proof, err := coinProof(v, op)
	if err != nil {
		return nil, err
	}
	out := &verify.UTXOProof{Kind: verify.KindUTXO, State: st,
		Outpoint: verify.Outpoint{TxID: verify.BlockHash(op.Hash), Vout: op.Index}, Unspent: cp.Found, Proof: proof}
	if cp.Found {
		c := provenCoin(&cp.Coin)
		out.Coin = &c
	}
	return out, nil
}

// proofAddress is GET /v1/proof/address/:addr?after=TXID:VOUT&limit=N: a
// page of the address's coins, each with its membership proof, as a
// reserves file of one address (the total is the page's). The cursor of
// the next page is in "next" and X-Satnode-Next; ask for it with the same
// ?height= so that every page proves against one app hash.
func (h *Handler) proofAddress(v *app.View, q *httpReq) (any, error) {
	script, err := query.ScriptForAddress(q.args[0], v.Params.Chain)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	vals, perr := url.ParseQuery(q.query)
	if perr != nil {
		return nil, badRequest("invalid query string: %v", perr)
	}
	limit := min(h.opts.MaxPage, maxAddressProofs)
	if l := vals.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > limit {
			return nil, badRequest("invalid limit %q: expected a whole number from 1 to %d", l, limit)
		}
		limit = n
	}
	var after *utxo.Outpoint
	if a := vals.Get("after"); a != "" {
		op, err := query.ParseOutpoint(a)
		if err != nil {
			return nil, badRequest("invalid after: %v", err)
		}
		after = &op
	}
	st, err := proofState(v)
	if err != nil {
		return nil, err
	}
	coins, next, err := v.Reader.ScriptHashUnspent(query.ScriptHashOf(script), after, limit)
	if err != nil {
		return nil, err
	}
	ac := verify.AddressCoins{Address: q.args[0], ScriptPubKey: script, Coins: []verify.CoinProof{}}
	var total int64
	for _, u := range coins {
		cp, proof, err := coinProof(v, u.Outpoint)
		if err != nil {
			return nil, err
		}
		if !cp.Found {
			return nil, errors.New("a coin of the script-hash index is not in the UTXO tree")
		}
		ac.Coins = append(ac.Coins, verify.CoinProof{
			Outpoint: verify.Outpoint{TxID: verify.BlockHash(u.Outpoint.Hash), Vout: u.Outpoint.Index},
			Coin:     provenCoin(&cp.Coin), Proof: proof})
		total += cp.Coin.Value
	}
	if next != nil {
		ac.Next = next.String()
		q.next, q.limit = ac.Next, limit
	}
	return &verify.ReservesProof{Kind: verify.KindReserves, State: st, Addresses: []verify.AddressCoins{ac}, Total: total}, nil
}
