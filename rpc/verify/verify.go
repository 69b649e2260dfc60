package verify

import (
	"bytes"
	"fmt"
	"math"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// StateResult is what a file's shared fields prove once its app hash is
// known to be signed: the Bitcoin tip and UTXO root of one commit.
type StateResult struct {
	ChainID      string
	Height       int64 // the CometBFT commit whose state is proven
	HeaderHeight int64 // the header carrying its app hash, Height+1
	AppHash      [32]byte
	Bitcoin      BitcoinTip // proven by tip_proof
	UTXORoot     [32]byte   // proven by root_proof
}

// UTXOResult is a verified UTXO proof.
type UTXOResult struct {
	StateResult
	Outpoint Outpoint
	Unspent  bool
	Coin     *Coin // nil when absent
}

// ReservesResult is a verified reserves proof.
type ReservesResult struct {
	StateResult
	Addresses []AddressTotal // in file order
	Coins     int            // coins proven, over all addresses
	Total     int64          // their sum, equal to the file's total
	// Complete is false when some address has a Next cursor: its coins
	// were listed in pages and this file holds one.
	Complete bool
}

// AddressTotal is one address's proven coins.
type AddressTotal struct {
	Address      string
	Network      string // chaincfg name of the first network it decodes on
	ScriptPubKey []byte
	Coins        int
	Value        int64
	Next         string // the file's paging cursor, if any
}

// VerifyState checks a file's shared fields against appHash, which the
// caller has taken from a header the light client verified at
// s.HeaderHeight: the version, the app hash, utxo_root by root_proof and
// the Bitcoin tip by tip_proof.
func VerifyState(s *State, appHash []byte) (*StateResult, error) {
	if s == nil {
		return nil, fail(StepDecode, ErrMalformed, "no state")
	}
	if s.Height < 1 || s.HeaderHeight != s.Height+1 {
		return nil, fail(StepDecode, ErrMalformed, "height %d, header_height %d: want header_height = height+1",
			s.Height, s.HeaderHeight)
	}
	if s.AppHashVersion != AppHashVersion {
		return nil, fail(StepAppHash, ErrVersion, "app_hash_version %d, this verifier checks %d",
			s.AppHashVersion, AppHashVersion)
	}
	if len(appHash) != 32 || !bytes.Equal(s.AppHash, appHash) {
		return nil, fail(StepAppHash, ErrAppHash, "file has %x, header has %x", []byte(s.AppHash), appHash)
	}
	r := &StateResult{ChainID: s.ChainID, Height: s.Height, HeaderHeight: s.HeaderHeight,
		AppHash: [32]byte(appHash), Bitcoin: s.Bitcoin}

	if len(s.UTXORoot) != 32 {
		return nil, fail(StepRoot, ErrMalformed, "utxo_root of %d bytes", len(s.UTXORoot))
	}
	p, err := DecodeProof(s.RootProof)
	if err == nil {
		err = VerifyCommitment(appHash, p, NameUTXO, s.UTXORoot)
	}
	if err != nil {
		return nil, &Error{Step: StepRoot, Err: err}
	}
	r.UTXORoot = [32]byte(s.UTXORoot)

	if s.Bitcoin.Height < 0 {
		return nil, fail(StepTip, ErrMalformed, "bitcoin height %d", s.Bitcoin.Height)
	}
	p, err = DecodeProof(s.TipProof)
	if err == nil {
		err = VerifyCommitment(appHash, p, NameBTCTip, TipValue(s.Bitcoin))
	}
	if err != nil {
		return nil, &Error{Step: StepTip, Err: err}
	}
	return r, nil
}

// VerifyUTXO checks a UTXO proof against appHash (see VerifyState): the
// state, then the coin's membership proof if unspent, or the outpoint's
// non-membership proof if absent. It does no I/O; Verify adds the light
// client.
func VerifyUTXO(p *UTXOProof, appHash []byte) (*UTXOResult, error) {
	if p == nil || p.Kind != KindUTXO {
		return nil, fail(StepDecode, ErrMalformed, "not a %q proof", KindUTXO)
	}
	st, err := VerifyState(&p.State, appHash)
	if err != nil {
		return nil, err
	}
	key := p.Outpoint.Key()
	proof, err := DecodeProof(p.Proof)
	if err != nil {
		return nil, &Error{Step: StepCoin, Err: err}
	}
	r := &UTXOResult{StateResult: *st, Outpoint: p.Outpoint, Unspent: p.Unspent}
	if p.Unspent {
		if p.Coin == nil {
			return nil, fail(StepCoin, ErrMalformed, "unspent without a coin")
		}
		if err := p.Coin.check(); err != nil {
			return nil, &Error{Step: StepCoin, Err: err}
		}
		if err := VerifyCoinMembership(st.UTXORoot[:], proof, key, p.Coin.TreeValue()); err != nil {
			return nil, &Error{Step: StepCoin, Err: fmt.Errorf("%v unspent: %w", p.Outpoint, err)}
		}
		c := *p.Coin
		r.Coin = &c
		return r, nil
	}
	if p.Coin != nil {
		return nil, fail(StepCoin, ErrMalformed, "absent, yet with a coin")
	}
	if err := VerifyCoinAbsence(st.UTXORoot[:], proof, key); err != nil {
		return nil, &Error{Step: StepCoin, Err: fmt.Errorf("%v absent: %w", p.Outpoint, err)}
	}
	return r, nil
}

// VerifyReserves checks a reserves proof against appHash (see
// VerifyState): every address decodes to its script_pubkey, every coin
// pays that script and is proven unspent, no outpoint (or address) is
// listed twice, and total is the sum.
//
// It proves that these coins are unspent at the proven Bitcoin height,
// not that their owner holds the keys, nor that the addresses hold no
// other coins: the tree is keyed by outpoint, so it cannot prove a list
// complete.
func VerifyReserves(p *ReservesProof, appHash []byte) (*ReservesResult, error) {
	if p == nil || p.Kind != KindReserves {
		return nil, fail(StepDecode, ErrMalformed, "not a %q proof", KindReserves)
	}
	st, err := VerifyState(&p.State, appHash)
	if err != nil {
		return nil, err
	}
	r := &ReservesResult{StateResult: *st, Complete: true}
	scripts := make(map[string]int, len(p.Addresses))
	outpoints := make(map[Outpoint]string)
	for i := range p.Addresses {
		a := &p.Addresses[i]
		script, network, err := addressScript(a.Address)
		if err != nil {
			return nil, fail(StepReserves, ErrAddress, "address %d %.130q: %v", i, a.Address, err)
		}
		if !bytes.Equal(script, a.ScriptPubKey) {
			return nil, fail(StepReserves, ErrAddress, "address %d %s: script_pubkey %x is not its script %x",
				i, a.Address, []byte(a.ScriptPubKey), script)
		}
		if j, ok := scripts[string(script)]; ok {
			return nil, fail(StepReserves, ErrDuplicate, "address %d %s has the script of address %d", i, a.Address, j)
		}
		scripts[string(script)] = i
		t := AddressTotal{Address: a.Address, Network: network, ScriptPubKey: script, Next: a.Next}
		for j := range a.Coins {
			c := &a.Coins[j]
			if where, ok := outpoints[c.Outpoint]; ok {
				return nil, fail(StepReserves, ErrDuplicate, "outpoint %v under %s and again under %s",
					c.Outpoint, where, a.Address)
			}
			outpoints[c.Outpoint] = a.Address
			if !bytes.Equal(c.Coin.ScriptPubKey, script) {
				return nil, fail(StepReserves, ErrScript, "%s coin %v pays %x", a.Address, c.Outpoint, []byte(c.Coin.ScriptPubKey))
			}
			if err := verifyCoin(st, c); err != nil {
				return nil, &Error{Step: StepCoin, Err: fmt.Errorf("%s coin %v: %w", a.Address, c.Outpoint, err)}
			}
			var ok bool
			if t.Value, ok = add(t.Value, c.Coin.Value); !ok {
				return nil, fail(StepReserves, ErrTotal, "%s: sum overflows", a.Address)
			}
			t.Coins++
		}
		var ok bool
		if r.Total, ok = add(r.Total, t.Value); !ok {
			return nil, fail(StepReserves, ErrTotal, "total overflows")
		}
		r.Coins += t.Coins
		r.Complete = r.Complete && a.Next == ""
		r.Addresses = append(r.Addresses, t)
	}
	if r.Total != p.Total {
		return nil, fail(StepReserves, ErrTotal, "file claims %d, the coins sum to %d", p.Total, r.Total)
	}
	return r, nil
}

func verifyCoin(st *StateResult, c *CoinProof) error {
	if err := c.Coin.check(); err != nil {
		return err
	}
	proof, err := DecodeProof(c.Proof)
	if err != nil {
		return err
	}
	return VerifyCoinMembership(st.UTXORoot[:], proof, c.Outpoint.Key(), c.Coin.TreeValue())
}

// add is a + b for non-negative amounts, false on overflow (or a
// negative amount, which Coin.check already refuses).
func add(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// networks are tried in this order to decode an address: the file does
// not say its network, and the script, not the network, is what the
// tree commits to (testnet3, signet and regtest share base58 versions).
var networks = [...]*chaincfg.Params{
	&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.SigNetParams,
	&chaincfg.RegressionNetParams, &chaincfg.SimNetParams,
}

// maxAddressLen is the longest address btcutil decodes (an uncompressed
// public key in hex); base58 decoding is quadratic, so longer strings are
// refused before it.
const maxAddressLen = 130

// addressScript is the output script an address stands for, and the
// network it decoded on.
func addressScript(addr string) (script []byte, network string, err error) {
	if len(addr) == 0 || len(addr) > maxAddressLen {
		return nil, "", fmt.Errorf("%w: address of %d characters", ErrMalformed, len(addr))
	}
	defer func() {
		if r := recover(); r != nil {
			script, network, err = nil, "", fmt.Errorf("%w: decoding panicked: %v", ErrMalformed, r)
		}
	}()
	for _, params := range networks {
		a, err := btcutil.DecodeAddress(addr, params)
		if err != nil || !a.IsForNet(params) {
			continue
		}
		script, err := txscript.PayToAddrScript(a)
		if err != nil {
			return nil, "", err
		}
		return script, params.Name, nil
	}
	return nil, "", fmt.Errorf("not an address on %s, %s, %s, %s or %s", networks[0].Name, networks[1].Name,
		networks[2].Name, networks[3].Name, networks[4].Name)
}
