package native

import (
	"encoding/hex"
	"net/url"
	"strconv"
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
	// Canonical is always false: applied blocks are finished and not
	// listed. Kept so that the shape of a block does not change.
	Canonical bool `json:"canonical"`
	Paid      bool `json:"paid"`
}

type endorsementsBody struct {
	Final         blockRef `json:"final"`
	FinalityDepth int32    `json:"finality_depth"`
	TotalPower    int64    `json:"total_power"`
	NeededPower   int64    `json:"needed_power"`
	// Unendorsed counts the pending blocks not yet endorsed, over all
	// pages.
	Unendorsed int           `json:"unendorsed"`
	Blocks     []pendingJSON `json:"blocks"`
	// Next is the cursor of the next page (also in X-Satnode-Next), null
	// on the last.
	Next *string  `json:"next"`
	At   stamp.At `json:"at"`
}

// endorsements lists the pending blocks, those above the finalized base
// not applied to the set, a page at a time: the list of a chain that
// stalls for a long time grows, and applied blocks are finished.
func (h *Handler) endorsements(v *app.View, q *httpReq) (any, error) {
	after, limit, perr := parseBlockPage(q.query, h.opts.MaxPage)
	if perr != nil {
		return nil, perr
	}
	page, next, err := v.PendingPage(after, limit)
	if err != nil {
		return nil, err
	}
	b := &endorsementsBody{Final: refOf(v.Final), FinalityDepth: v.FinalityDepth, TotalPower: v.TotalPower,
		NeededPower: v.NeededPower, Unendorsed: v.Unendorsed, Blocks: make([]pendingJSON, 0, len(page)), At: stamp.Of(v)}
	for _, p := range page {
		e := pendingJSON{Height: p.Height, Hash: p.Hash.String(), Submitter: addr(p.Submitter),
			Endorsers: make([]string, 0, len(p.Endorsers)), EndorsedPower: p.EndorsedPower,
			NeededPower: v.NeededPower, TotalPower: v.TotalPower, Endorsed: p.Endorsed, Canonical: p.Canonical,
			Paid: p.Paid}
		for _, a := range p.Endorsers {
			e.Endorsers = append(e.Endorsers, a.String())
		}
		b.Blocks = append(b.Blocks, e)
	}
	if next != nil {
		cur := next.String()
		b.Next = &cur
		q.next, q.limit = cur, limit
	}
	return b, nil
}

// parseBlockPage reads ?limit= (1..maxPage, default maxPage) and ?after=
// (app.BlockRef.String: HEIGHT:HASH) of a paged block list.
func parseBlockPage(rawQuery string, maxPage int) (*app.BlockRef, int, *Error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, 0, badRequest("invalid query string: %v", err)
	}
	limit := maxPage
	if l, ok := vals["limit"]; ok {
		n, err := strconv.Atoi(l[0])
		if err != nil || n < 1 || n > maxPage || !allDigits(l[0]) {
			return nil, 0, badRequest("invalid limit %q: expected a whole number from 1 to %d", l[0], maxPage)
		}
		limit = n
	}
	a, ok := vals["after"]
	if !ok {
		return nil, limit, nil
	}
	bad := badRequest("invalid after %q: expected HEIGHT:HASH (a block height and its 64-digit hex hash), "+
		"the %s header of the previous page", a[0], HeaderNext)
	ref, err := app.ParseBlockRef(a[0])
	if err != nil {
		return nil, 0, bad
	}
	return &ref, limit, nil
}

// allDigits: s is a plain decimal number, without the sign or the
// underscores strconv would take.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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
	Tombstoned  bool       `json:"tombstoned"`
	// Missed is its attendance: rounds missed among the last
	// downtime_window it was active for; more than downtime_max_missed
	// jails it (the body's downtime_* fields).
	Missed uint32 `json:"missed"`
}

type validatorsBody struct {
	TotalPower  int64 `json:"total_power"`
	NeededPower int64 `json:"needed_power"`
	// DowntimeWindow and DowntimeMaxMissed are the chain parameters a
	// validator's missed count is measured against.
	DowntimeWindow    uint32          `json:"downtime_window"`
	DowntimeMaxMissed uint32          `json:"downtime_max_missed"`
	Validators        []validatorJSON `json:"validators"`
	At                stamp.At        `json:"at"`
}

func (h *Handler) validators(v *app.View, _ *httpReq) (any, error) {
	b := &validatorsBody{TotalPower: v.TotalPower, NeededPower: v.NeededPower,
		DowntimeWindow: v.ChainParams.DowntimeWindow, DowntimeMaxMissed: v.ChainParams.DowntimeMaxMissed,
		Validators: make([]validatorJSON, 0, len(v.Validators)), At: stamp.Of(v)}
	for _, val := range v.Validators {
		j := validatorJSON{Operator: val.Operator.String(), ConsensusKey: hex.EncodeToString(val.ConsensusKey[:]),
			Endorser: addr(val.EndorserKey), Moniker: val.Moniker, CommissionBps: val.CommissionBps,
			Tokens: val.Tokens, SelfStake: val.SelfStake, Power: v.Powers[val.Operator], Jailed: val.Jailed,
			Tombstoned: val.Tombstoned, Missed: val.Missed}
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

func (h *Handler) synchronizers(v *app.View, _ *httpReq) (any, error) {
	b := &synchronizersBody{Synchronizers: make([]synchronizerJSON, 0, len(v.Synchronizers)), At: stamp.Of(v)}
	for _, s := range v.Synchronizers {
		b.Synchronizers = append(b.Synchronizers, synchronizerJSON{Address: s.Address.String(), Bond: s.Bond,
			Payout: addr(s.Payout)})
	}
	return b, nil
}
