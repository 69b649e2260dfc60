package staking_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
)

func addr(b byte) tx.Address {
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{b}, 32))
	return tx.AddressOf(priv.PubKey())
}

func edKey(b byte) [32]byte {
	return [32]byte(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)).Public().(ed25519.PublicKey))
}

// Two validators with 66 and 34 units of power: the larger alone cannot
// endorse a Bitcoin block until a delegation gives it two thirds.
func Example() {
	g := staking.Genesis{
		Params: staking.Params{MaxValidators: 10, UnbondingPeriod: 21 * 24 * time.Hour,
			MinSelfStake: 1_000_000, MinSynchronizerBond: 1_000_000, PowerReduction: 1_000_000,
			InitialReward: 50_000_000, HalvingInterval: 210_000, SynchronizerShareBps: 1000,
			DoubleSignSlashBps: 500, DoubleSignJailDuration: 24 * time.Hour, DowntimeWindow: 100, DowntimeMaxMissed: 50,
			DowntimeJailDuration: time.Hour},
		Accounts: []staking.GenesisAccount{{Address: addr(9), Balance: 10_000_000}},
		Validators: []staking.GenesisValidator{
			{Operator: addr(1), ConsensusKey: edKey(1), EndorserKey: addr(2), SelfStake: 66_000_000},
			{Operator: addr(3), ConsensusKey: edKey(3), EndorserKey: addr(4), SelfStake: 34_000_000},
		},
	}
	s, err := staking.InitGenesis(g, 'S')
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Power(addr(1)), s.TotalPower(), staking.Endorsed(s.Power(addr(1)), s.TotalPower()))
	if err := s.Delegate(addr(9), tx.Delegate{Validator: addr(1), Amount: 2_000_000}); err != nil {
		panic(err)
	}
	fmt.Println(s.Power(addr(1)), s.TotalPower(), staking.Endorsed(s.Power(addr(1)), s.TotalPower()))
	fmt.Println(len(s.EndBlock(time.Unix(1_700_000_000, 0))), "validator updates")
	// Output:
	// 66 100 false
	// 68 102 true
	// 2 validator updates
}
