package staking

import (
	"strconv"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

// Genesis is the initial state: parameters, balances, validators with
// their self-stake, and synchronizers with their bonds. Self-stakes and
// bonds are minted in addition to the listed balances: the supply starts
// at the sum of all three.
type Genesis struct {
	Params        Params
	Accounts      []GenesisAccount
	Validators    []GenesisValidator
	Synchronizers []GenesisSynchronizer
}

// GenesisAccount is an initial balance.
type GenesisAccount struct {
	Address tx.Address
	Balance uint64
}

// GenesisValidator is an initial validator, bonded and not jailed.
type GenesisValidator struct {
	Operator      tx.Address
	ConsensusKey  [32]byte
	EndorserKey   tx.Address
	CommissionBps uint16
	Moniker       string
	SelfStake     uint64
}

// GenesisSynchronizer is an initial synchronizer.
type GenesisSynchronizer struct {
	Address tx.Address
	Bond    uint64
	Payout  tx.Address
}

// InitGenesis validates g and builds the initial state, whose records will
// be stored under prefix (not one of the UTXO engine's reserved bytes). It checks the parameters, every address (a valid
// x-only key), positive balances, the rules CreateValidator and
// RegisterSynchronizer apply (key formats and uniqueness, minimum stake and
// bond, commission, moniker), duplicates, and that the supply fits in 64
// bits. Errors wrap ErrInvalidGenesis and name the offending entry.
//
// Every operator, endorser key and synchronizer gets an account, so that
// each can sign its first transaction. No validator update has been
// reported yet: the first EndBlock (or ActiveValidators, for InitChain)
// yields the whole initial set.
func InitGenesis(g Genesis, prefix byte) (*State, error) {
	if utxo.ReservedKey([]byte{prefix}) {
		return nil, genesisf("prefix %q is reserved by the UTXO engine", prefix)
	}
	if err := g.Params.Validate(); err != nil {
		return nil, genesisf("%v", err)
	}
	s := newState(g.Params, prefix)
	var supply uint64
	addSupply := func(x uint64, what string) error {
		var ok bool
		if supply, ok = add64(supply, x); !ok {
			return genesisf("%s: total supply exceeds 2^64-1", what)
		}
		return nil
	}
	for i, a := range g.Accounts {
		what := "account " + strconv.Itoa(i)
		if err := a.Address.Validate(); err != nil {
			return nil, genesisf("%s: %v", what, err)
		}
		if a.Balance == 0 {
			return nil, genesisf("%s (%s): zero balance", what, a.Address)
		}
		if _, dup := s.accounts[a.Address]; dup {
			return nil, genesisf("%s (%s): listed twice", what, a.Address)
		}
		if err := addSupply(a.Balance, what); err != nil {
			return nil, err
		}
		s.accounts[a.Address] = &account{balance: a.Balance}
		s.rec.touch(accountKey(a.Address))
	}
	for i, gv := range g.Validators {
		what := "validator " + strconv.Itoa(i) + " (" + gv.Operator.String() + ")"
		if err := s.checkNewValidator(gv.Operator, tx.CreateValidator{ConsensusKey: gv.ConsensusKey,
			EndorserKey: gv.EndorserKey, CommissionBps: gv.CommissionBps, SelfStake: gv.SelfStake,
			Moniker: gv.Moniker}); err != nil {
			return nil, genesisf("%s: %v", what, err)
		}
		if err := gv.Operator.Validate(); err != nil {
			return nil, genesisf("%s: operator: %v", what, err)
		}
		if err := addSupply(gv.SelfStake, what); err != nil {
			return nil, err
		}
		s.addValidator(gv.Operator, gv.ConsensusKey, gv.EndorserKey, gv.CommissionBps, gv.Moniker, gv.SelfStake)
	}
	for i, gy := range g.Synchronizers {
		what := "synchronizer " + strconv.Itoa(i) + " (" + gy.Address.String() + ")"
		if err := gy.Address.Validate(); err != nil {
			return nil, genesisf("%s: %v", what, err)
		}
		if err := s.checkNewSynchronizer(gy.Address, tx.RegisterSynchronizer{Bond: gy.Bond, Payout: gy.Payout}); err != nil {
			return nil, genesisf("%s: %v", what, err)
		}
		if err := addSupply(gy.Bond, what); err != nil {
			return nil, err
		}
		s.ensureAccount(gy.Address)
		s.synchronizers[gy.Address] = &synchronizer{bond: gy.Bond, payout: gy.Payout}
		s.rec.touch(synchronizerKey(gy.Address))
	}
	if max, _ := g.Params.MaxMinted(); !fits(supply, max) {
		return nil, genesisf("the genesis supply %d plus all the reward schedule can mint (%d) exceeds 2^64-1: "+
			"lower initial_reward or halving_interval", supply, max)
	}
	s.rec.touch(paramsKey())
	s.setSupply(supply, 0)
	if err := s.CheckInvariants(); err != nil {
		return nil, genesisf("%v", err)
	}
	return s, nil
}

func fits(a, b uint64) bool { _, ok := add64(a, b); return ok }
