package native

import (
	"encoding/hex"
	"time"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/rpc/internal/stamp"
)

// addr prints a satnode address, or "" for the zero address, which stands
// for "none" in the consensus summary (a header nobody submitted).
func addr(a tx.Address) string {
	if a == (tx.Address{}) {
		return ""
	}
	return a.String()
}

type pendingJSON struct {
	Height        int32    `json:"height"`
	Hash          string   `json:"hash"`
	Submitter     string   `json:"submitter"`
	Endorsers     []string `json:"endorsers"`
	EndorsedPower int64    `json:"endorsed_power"`
	NeededPower   int64    `json:"needed_power"`
	TotalPower    int64    `json:"total_power"`
	Endorsed      bool     `json:"endorsed"`
	Canonical     bool     `json:"canonical"`
	Paid          bool     `json:"paid"`
}

type endorsementsBody struct {
	Final         blockRef      `json:"final"`
	FinalityDepth int32         `json:"finality_depth"`
	TotalPower    int64         `json:"total_power"`
	NeededPower   int64         `json:"needed_power"`
	Blocks        []pendingJSON `json:"blocks"`
	At            stamp.At      `json:"at"`
}

func (h *Handler) endorsements(v *app.View, _ []string) (any, error) {
	b := &endorsementsBody{Final: refOf(v.Final), FinalityDepth: v.FinalityDepth, TotalPower: v.TotalPower,
		NeededPower: v.NeededPower, Blocks: make([]pendingJSON, 0, len(v.Pending)), At: stamp.Of(v)}
	for _, p := range v.Pending {
		e := pendingJSON{Height: p.Height, Hash: p.Hash.String(), Submitter: addr(p.Submitter),
			Endorsers: make([]string, 0, len(p.Endorsers)), EndorsedPower: p.EndorsedPower,
			NeededPower: v.NeededPower, TotalPower: v.TotalPower, Endorsed: p.Endorsed, Canonical: p.Canonical,
			Paid: p.Paid}
		for _, a := range p.Endorsers {
			e.Endorsers = append(e.Endorsers, a.String())
		}
		b.Blocks = append(b.Blocks, e)
	}
	return b, nil
}

type validatorJSON struct {
	Operator string `json:"operator"`
	// ConsensusKey is the ed25519 key CometBFT votes with, in hex.
	ConsensusKey  string `json:"consensus_key"`
	Endorser      string `json:"endorser"`
	Moniker       string `json:"moniker"`
	CommissionBps uint16 `json:"commission_bps"`
	Tokens        uint64 `json:"tokens"`
	SelfStake     uint64 `json:"self_stake"`
	Power         int64  `json:"power"`
	Jailed        bool   `json:"jailed"`
	// JailedUntil is absent when the validator was never jailed.
	JailedUntil *time.Time `json:"jailed_until,omitempty"`
}

type validatorsBody struct {
	TotalPower  int64           `json:"total_power"`
	NeededPower int64           `json:"needed_power"`
	Validators  []validatorJSON `json:"validators"`
	At          stamp.At        `json:"at"`
}

func (h *Handler) validators(v *app.View, _ []string) (any, error) {
	b := &validatorsBody{TotalPower: v.TotalPower, NeededPower: v.NeededPower,
		Validators: make([]validatorJSON, 0, len(v.Validators)), At: stamp.Of(v)}
	for _, val := range v.Validators {
		j := validatorJSON{Operator: val.Operator.String(), ConsensusKey: hex.EncodeToString(val.ConsensusKey[:]),
			Endorser: addr(val.EndorserKey), Moniker: val.Moniker, CommissionBps: val.CommissionBps,
			Tokens: val.Tokens, SelfStake: val.SelfStake, Power: v.Powers[val.Operator], Jailed: val.Jailed}
		if !val.JailedUntil.IsZero() {
			t := val.JailedUntil.UTC()
			j.JailedUntil = &t
		}
		b.Validators = append(b.Validators, j)
	}
	return b, nil
}

type synchronizerJSON struct {
	Address string `json:"address"`
	Bond    uint64 `json:"bond"`
	Payout  string `json:"payout"`
}

type synchronizersBody struct {
	Synchronizers []synchronizerJSON `json:"synchronizers"`
	At            stamp.At           `json:"at"`
}

func (h *Handler) synchronizers(v *app.View, _ []string) (any, error) {
	b := &synchronizersBody{Synchronizers: make([]synchronizerJSON, 0, len(v.Synchronizers)), At: stamp.Of(v)}
	for _, s := range v.Synchronizers {
		b.Synchronizers = append(b.Synchronizers, synchronizerJSON{Address: s.Address.String(), Bond: s.Bond,
			Payout: addr(s.Payout)})
	}
	return b, nil
}
