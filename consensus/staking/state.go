package staking

import (
	"bytes"
	"slices"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// State is the accounts-and-staking state of the chain. It is not safe for
// concurrent use: the ABCI application owns it and calls it from
// FinalizeBlock and Commit only (CheckTx should use its own copy, loaded
// from the last commit).
type State struct {
	prefix    byte
	params    Params
	supply    uint64 // everything minted and not burned
	community uint64 // rounding dust and rewards with no recipient

	accounts      map[tx.Address]*account
	validators    map[tx.Address]*validator
	byConsensus   map[[32]byte]tx.Address // consensus key → operator
	byEndorser    map[tx.Address]tx.Address
	delegations   map[tx.Address]map[tx.Address]*delegation // delegator → operator → delegation
	unbonding     map[ubKey]uint64                          // entry → amount
	ubOrder       []ubKey                                   // the keys of unbonding, sorted as stored
	synchronizers map[tx.Address]*synchronizer
	reported      map[[32]byte]int64     // powers CometBFT was last told of, by consensus key
	windows       map[tx.Address]*window // signed-blocks windows, by operator (attendance.go)

	activeValid bool
	active      []ActiveValidator // rank order, recomputed when activeValid is false
	activePower map[tx.Address]int64

	rec records // the encoded state, for WriteChanges and Root
}

type account struct {
	balance uint64
	nonce   uint64 // the last nonce used; 0 before the first transaction
}

type validator struct {
	operator      tx.Address
	consensusKey  [32]byte
	endorser      tx.Address
	commissionBps uint16
	moniker       string
	tokens        uint64 // bonded: self-stake and delegations, after slashing
	shares        uint64 // sum of the delegations' shares
	jailed        bool
	tombstoned    bool   // slashed for double signing: jailed for good
	jailedUntil   int64  // Unix nanoseconds
	missed        uint32 // missed rounds in the signed-blocks window
	commission    uint64 // the operator's unclaimed commission
	pool          uint64 // delegator rewards credited and not yet paid
	acc           u256   // cumulative delegator reward per share × 10^18
}

type delegation struct {
	shares uint64
	last   u256 // the validator's acc at this delegation's last settlement
}

type synchronizer struct {
	bond   uint64
	payout tx.Address
}

// ubKey identifies an unbonding entry; its fields are the stored key, in
// order, so sorting keys sorts entries by completion time first.
type ubKey struct {
	completion int64
	delegator  tx.Address
	validator  tx.Address
	height     int64 // CometBFT height of the Undelegate
}

func compareUBKey(a, b ubKey) int {
	switch {
	case a.completion < b.completion:
		return -1
	case a.completion > b.completion:
		return 1
	}
	if c := bytes.Compare(a.delegator[:], b.delegator[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.validator[:], b.validator[:]); c != 0 {
		return c
	}
	switch {
	case a.height < b.height:
		return -1
	case a.height > b.height:
		return 1
	}
	return 0
}

func newState(p Params, prefix byte) *State {
	return &State{
		prefix:        prefix,
		params:        p,
		accounts:      make(map[tx.Address]*account),
		validators:    make(map[tx.Address]*validator),
		byConsensus:   make(map[[32]byte]tx.Address),
		byEndorser:    make(map[tx.Address]tx.Address),
		delegations:   make(map[tx.Address]map[tx.Address]*delegation),
		unbonding:     make(map[ubKey]uint64),
		synchronizers: make(map[tx.Address]*synchronizer),
		reported:      make(map[[32]byte]int64),
		windows:       make(map[tx.Address]*window),
		rec:           newRecords(),
	}
}

// Account is an account as the getters return it.
type Account struct {
	Address tx.Address
	Balance uint64
	// Nonce is the last nonce used: the next transaction must carry Nonce+1.
	Nonce uint64
}

// Validator is a validator as the getters return it.
type Validator struct {
	Operator      tx.Address
	ConsensusKey  [32]byte
	EndorserKey   tx.Address
	CommissionBps uint16
	Moniker       string
	// Tokens is the bonded stake, self-stake and delegations, after slashes.
	Tokens uint64
	// Shares is the sum of the delegations' shares; a delegation of s
	// shares is worth floor(s × Tokens / Shares) tokens.
	Shares uint64
	// SelfStake is the token value of the operator's own delegation.
	SelfStake   uint64
	Jailed      bool
	JailedUntil time.Time
	// Tombstoned: slashed for double signing; jailed for good, whatever
	// JailedUntil says.
	Tombstoned bool
	// Missed is the number of rounds missed among the last
	// downtime_window rounds the validator was active for (attendance.go).
	Missed uint32
	// Commission is the operator's unclaimed commission.
	Commission uint64
	// RewardPool is what the delegators have been credited and not yet
	// withdrawn, including rounding dust not yet swept.
	RewardPool uint64
	// RewardPerShare is the cumulative delegator reward per share × 10^18,
	// 256-bit big-endian.
	RewardPerShare [32]byte
}

// Delegation is a delegation as the getters return it.
type Delegation struct {
	Delegator tx.Address
	Validator tx.Address // the operator's address
	Shares    uint64
	// Tokens is the delegation's value: floor(Shares × tokens / shares).
	Tokens uint64
	// PendingReward is what WithdrawRewards would pay now (commission not
	// included).
	PendingReward uint64
}

// Unbonding is an unbonding entry as the getters return it.
type Unbonding struct {
	Delegator      tx.Address
	Validator      tx.Address
	Amount         uint64
	CompletionTime time.Time
	CreationHeight int64
}

// Synchronizer is a registered synchronizer.
type Synchronizer struct {
	Address tx.Address
	Bond    uint64
	Payout  tx.Address
}

// Params returns the parameters.
func (s *State) Params() Params { return s.params }

// Supply returns the total minted and not burned.
func (s *State) Supply() uint64 { return s.supply }

// CommunityPool returns the rounding dust and undistributable rewards
// collected so far. Nothing spends it yet; it exists so that every unit of
// the supply is accounted for.
func (s *State) CommunityPool() uint64 { return s.community }

// Account returns an account; ok is false if it does not exist.
func (s *State) Account(addr tx.Address) (Account, bool) {
	a, ok := s.accounts[addr]
	if !ok {
		return Account{Address: addr}, false
	}
	return Account{Address: addr, Balance: a.balance, Nonce: a.nonce}, true
}

// Accounts returns every account in address order.
func (s *State) Accounts() []Account {
	out := make([]Account, 0, len(s.accounts))
	for addr, a := range s.accounts {
		out = append(out, Account{Address: addr, Balance: a.balance, Nonce: a.nonce})
	}
	slices.SortFunc(out, func(a, b Account) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	return out
}

func (s *State) view(v *validator) Validator {
	self := uint64(0)
	if d := s.delegation(v.operator, v.operator); d != nil {
		self = v.tokenValue(d.shares)
	}
	return Validator{
		Operator: v.operator, ConsensusKey: v.consensusKey, EndorserKey: v.endorser,
		CommissionBps: v.commissionBps, Moniker: v.moniker, Tokens: v.tokens, Shares: v.shares,
		SelfStake: self, Jailed: v.jailed, JailedUntil: fromNanos(v.jailedUntil), Tombstoned: v.tombstoned,
		Missed:     v.missed,
		Commission: v.commission, RewardPool: v.pool, RewardPerShare: v.acc,
	}
}

// Validator returns the validator operated by operator.
func (s *State) Validator(operator tx.Address) (Validator, bool) {
	v, ok := s.validators[operator]
	if !ok {
		return Validator{}, false
	}
	return s.view(v), true
}

// Validators returns every validator, jailed or not, in operator order.
func (s *State) Validators() []Validator {
	out := make([]Validator, 0, len(s.validators))
	for _, v := range s.validators {
		out = append(out, s.view(v))
	}
	slices.SortFunc(out, func(a, b Validator) int { return bytes.Compare(a.Operator[:], b.Operator[:]) })
	return out
}

// ValidatorByEndorser returns the validator whose endorser key is key.
func (s *State) ValidatorByEndorser(key tx.Address) (Validator, bool) {
	op, ok := s.byEndorser[key]
	if !ok {
		return Validator{}, false
	}
	return s.view(s.validators[op]), true
}

// ValidatorByConsensusKey returns the validator with that ed25519 key.
func (s *State) ValidatorByConsensusKey(key [32]byte) (Validator, bool) {
	op, ok := s.byConsensus[key]
	if !ok {
		return Validator{}, false
	}
	return s.view(s.validators[op]), true
}

func (s *State) delegation(delegator, operator tx.Address) *delegation {
	return s.delegations[delegator][operator]
}

func (s *State) delegationView(delegator, operator tx.Address, d *delegation) Delegation {
	v := s.validators[operator]
	pending, _ := pendingReward(d.shares, v.acc, d.last)
	return Delegation{Delegator: delegator, Validator: operator, Shares: d.shares,
		Tokens: v.tokenValue(d.shares), PendingReward: pending}
}

// Delegation returns delegator's delegation to the validator of operator.
func (s *State) Delegation(delegator, operator tx.Address) (Delegation, bool) {
	d := s.delegation(delegator, operator)
	if d == nil {
		return Delegation{}, false
	}
	return s.delegationView(delegator, operator, d), true
}

// DelegationsOf returns the delegations of delegator, in operator order.
func (s *State) DelegationsOf(delegator tx.Address) []Delegation {
	ds := s.delegations[delegator]
	out := make([]Delegation, 0, len(ds))
	for op, d := range ds {
		out = append(out, s.delegationView(delegator, op, d))
	}
	slices.SortFunc(out, func(a, b Delegation) int { return bytes.Compare(a.Validator[:], b.Validator[:]) })
	return out
}

// Unbondings returns every unbonding entry in stored order: by completion
// time, then delegator, operator and creation height.
func (s *State) Unbondings() []Unbonding {
	out := make([]Unbonding, 0, len(s.ubOrder))
	for _, k := range s.ubOrder {
		out = append(out, s.unbondingView(k))
	}
	return out
}

// UnbondingsOf returns delegator's unbonding entries in the same order. It
// scans every entry.
func (s *State) UnbondingsOf(delegator tx.Address) []Unbonding {
	var out []Unbonding
	for _, k := range s.ubOrder {
		if k.delegator == delegator {
			out = append(out, s.unbondingView(k))
		}
	}
	return out
}

func (s *State) unbondingView(k ubKey) Unbonding {
	return Unbonding{Delegator: k.delegator, Validator: k.validator, Amount: s.unbonding[k],
		CompletionTime: fromNanos(k.completion), CreationHeight: k.height}
}

// Synchronizer returns the synchronizer registered by addr.
func (s *State) Synchronizer(addr tx.Address) (Synchronizer, bool) {
	y, ok := s.synchronizers[addr]
	if !ok {
		return Synchronizer{}, false
	}
	return Synchronizer{Address: addr, Bond: y.bond, Payout: y.payout}, true
}

// IsSynchronizer reports whether addr is a registered synchronizer.
func (s *State) IsSynchronizer(addr tx.Address) bool {
	_, ok := s.synchronizers[addr]
	return ok
}

// Synchronizers returns every synchronizer in address order.
func (s *State) Synchronizers() []Synchronizer {
	out := make([]Synchronizer, 0, len(s.synchronizers))
	for addr, y := range s.synchronizers {
		out = append(out, Synchronizer{Address: addr, Bond: y.bond, Payout: y.payout})
	}
	slices.SortFunc(out, func(a, b Synchronizer) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	return out
}

// tokenValue is what shares of v are worth, rounded down.
func (v *validator) tokenValue(shares uint64) uint64 {
	if v.shares == 0 {
		return 0
	}
	t, _ := mulDiv(shares, v.tokens, v.shares) // ≤ tokens since shares ≤ v.shares
	return t
}

// Mutators. Each marks the record it changes, so WriteChanges and Root
// see it; none of them can fail, so operations call them only after every
// check has passed.

// ensureAccount returns addr's account, creating an empty one.
func (s *State) ensureAccount(addr tx.Address) *account {
	a, ok := s.accounts[addr]
	if !ok {
		a = &account{}
		s.accounts[addr] = a
		s.rec.touch(accountKey(addr))
	}
	return a
}

// credit adds amount to addr's balance, creating the account. The caller
// has checked that the supply did not overflow, and every balance is part
// of the supply, so the sum fits.
func (s *State) credit(addr tx.Address, amount uint64) {
	if amount == 0 {
		return
	}
	a := s.ensureAccount(addr)
	a.balance = mustAdd(a.balance, amount)
	s.rec.touch(accountKey(addr))
}

func (s *State) debit(addr tx.Address, amount uint64) {
	a := s.accounts[addr]
	if a.balance < amount {
		panic("staking: debit below zero after balance check")
	}
	a.balance -= amount
	s.rec.touch(accountKey(addr))
}

func (s *State) touchValidator(v *validator) { s.rec.touch(validatorKey(v.operator)) }

func (s *State) setDelegation(delegator, operator tx.Address, d *delegation) {
	if d == nil || d.shares == 0 {
		if m := s.delegations[delegator]; m != nil {
			delete(m, operator)
			if len(m) == 0 {
				delete(s.delegations, delegator)
			}
		}
	} else {
		m := s.delegations[delegator]
		if m == nil {
			m = make(map[tx.Address]*delegation)
			s.delegations[delegator] = m
		}
		m[operator] = d
	}
	s.rec.touch(delegationKey(delegator, operator))
}

func (s *State) setUnbonding(k ubKey, amount uint64) {
	i, found := slices.BinarySearchFunc(s.ubOrder, k, compareUBKey)
	switch {
	case amount == 0 && found:
		s.ubOrder = slices.Delete(s.ubOrder, i, i+1)
		delete(s.unbonding, k)
	case amount > 0 && !found:
		s.ubOrder = slices.Insert(s.ubOrder, i, k)
		s.unbonding[k] = amount
	case amount > 0:
		s.unbonding[k] = amount
	}
	s.rec.touch(unbondingKey(k))
}

func (s *State) setSupply(supply, community uint64) {
	s.supply, s.community = supply, community
	s.rec.touch(globalKey())
}

func mustAdd(a, b uint64) uint64 {
	r, ok := add64(a, b)
	if !ok {
		panic("staking: amount overflow past a supply check")
	}
	return r
}
