package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/muhash"
)

// maxAttendanceWindow bounds attendance_window: records stay open that
// many satnode blocks after their block becomes canonical.
const maxAttendanceWindow = 1000

// ErrGenesis wraps every problem with the genesis app_state.
var ErrGenesis = errors.New("app: invalid genesis app_state")

// Genesis is the app_state of CometBFT's genesis.json: the Bitcoin network
// and start point, satnode's parameters, and the initial accounts,
// validators and synchronizers. Its JSON form is the one operators edit, so
// amounts are JSON numbers of base units, keys are hex or bech32m
// addresses, and durations are Go duration strings ("504h").
type Genesis struct {
	// Network is mainnet, testnet3, signet, regtest or simnet.
	Network string `json:"network"`
	// AppHashVersion is the app hash's format (consensus/apphash): 1, or
	// 2, whose parts are provable with ICS-23. Absent or 0 means 1, so a
	// genesis written before version 2 existed keeps its app hash;
	// `satnode init` and `satnode testnet` write 2.
	AppHashVersion int          `json:"app_hash_version,omitempty"`
	Start          GenesisStart `json:"start"`
	Params         Params       `json:"params"`

	Accounts      []GenesisAccount      `json:"accounts"`
	Validators    []GenesisValidator    `json:"validators"`
	Synchronizers []GenesisSynchronizer `json:"synchronizers"`
}

// GenesisStart is where the Bitcoin header chain begins: height 0 (the
// network's genesis block), or a later height H given with the headers
// below it that the retarget and median-time-past rules need
// (btcheaders.RequiredAncestry) and the MuHash of the UTXO set at H.
//
// A later start does not carry the UTXO set in the genesis file: every node
// builds it offline with `satnode import --stop-height H` into its home
// before its first start, and InitChain refuses to begin unless the store's
// tip is the start header and its MuHash is the one in genesis — which
// anyone can check against Bitcoin Core's `gettxoutsetinfo muhash` at H.
type GenesisStart struct {
	Height int32 `json:"height"`
	// Headers are hex 80-byte headers ending at Height, oldest first.
	// Empty at height 0.
	Headers []string `json:"headers,omitempty"`
	// MuHash is the UTXO set's MuHash3072 at Height as Bitcoin Core
	// prints it. Required above height 0.
	MuHash string `json:"muhash,omitempty"`
}

// Params are the chain's parameters.
type Params struct {
	// FinalityDepth: a Bitcoin block this far below the canonical tip is
	// final; forks below it are refused. Default 100.
	FinalityDepth int32 `json:"finality_depth"`
	// MaxBTCBytesPerBlock bounds the Bitcoin block bytes applied in one
	// satnode block during catch-up (at least one block is always
	// applied). Default 16 MiB.
	MaxBTCBytesPerBlock int64 `json:"max_btc_bytes_per_block"`
	// MaxHeadersAhead bounds the header tree: a header more than this many
	// heights above the canonical tip (the UTXO set's) is refused, so a
	// flood of junk headers, free on min-difficulty networks, cannot grow
	// the state without end. Default 10,000 (about ten weeks of mainnet).
	MaxHeadersAhead int32 `json:"max_headers_ahead"`
	// MaxHeadersPerBlock bounds the headers all SubmitHeaders of one
	// satnode block may add together; the rest of a batch is refused and
	// submitted again later. Default 4,000.
	MaxHeadersPerBlock int32 `json:"max_headers_per_block"`
	// AttendanceWindow is how many satnode blocks after a Bitcoin block
	// becomes canonical its endorsements are still taken: attendance and
	// rewards are settled when the window closes, so a validator one
	// block late is late (paid late_reward_bps of its share), not absent.
	// Default 10.
	AttendanceWindow int64 `json:"attendance_window"`
	// FeeBase and FeePerByte are the fee schedule: every transaction pays
	// fee_base + fee_per_byte × its size in bytes, in base units, from
	// its signer's balance, before it executes. Defaults 1,000 and 10.
	FeeBase    uint64 `json:"fee_base"`
	FeePerByte uint64 `json:"fee_per_byte"`
	// MaxOtherTxBytes caps the bytes of transactions other than
	// SubmitHeaders and Endorse in one satnode block, which proposals put
	// first: transfers and staking cannot crowd out the roles. Default
	// 1 MiB.
	MaxOtherTxBytes int64 `json:"max_other_tx_bytes"`

	MaxValidators          uint32   `json:"max_validators"`
	UnbondingPeriod        Duration `json:"unbonding_period"`
	MinSelfStake           uint64   `json:"min_self_stake"`
	MinSynchronizerBond    uint64   `json:"min_synchronizer_bond"`
	PowerReduction         uint64   `json:"power_reduction"`
	InitialReward          uint64   `json:"initial_reward"`
	HalvingInterval        uint32   `json:"halving_interval"`
	SynchronizerShareBps   uint16   `json:"synchronizer_share_bps"`
	DoubleSignSlashBps     uint16   `json:"double_sign_slash_bps"`
	DoubleSignJailDuration Duration `json:"double_sign_jail_duration"`
	DowntimeWindow         uint32   `json:"downtime_window"`
	DowntimeMaxMissed      uint32   `json:"downtime_max_missed"`
	DowntimeJailDuration   Duration `json:"downtime_jail_duration"`
	DowntimeSlashBps       uint16   `json:"downtime_slash_bps"`
	LateRewardBps          uint16   `json:"late_reward_bps"`
}

// DefaultParams are the parameters `satnode init` writes.
func DefaultParams() Params {
	return Params{
		FinalityDepth:          100,
		MaxBTCBytesPerBlock:    16 << 20,
		MaxHeadersAhead:        10_000,
		MaxHeadersPerBlock:     4_000,
		AttendanceWindow:       10,
		FeeBase:                1_000,
		FeePerByte:             10,
		MaxOtherTxBytes:        1 << 20,
		MaxValidators:          100,
		UnbondingPeriod:        Duration(21 * 24 * time.Hour),
		MinSelfStake:           1_000_000,
		MinSynchronizerBond:    1_000_000,
		PowerReduction:         1_000_000,
		InitialReward:          50_000_000,
		HalvingInterval:        210_000,
		SynchronizerShareBps:   2_000,
		DoubleSignSlashBps:     500,
		DoubleSignJailDuration: Duration(7 * 24 * time.Hour),
		DowntimeWindow:         1_000,
		DowntimeMaxMissed:      500,
		DowntimeJailDuration:   Duration(10 * time.Minute),
		DowntimeSlashBps:       1,
		LateRewardBps:          5_000,
	}
}

// GenesisAccount is an initial balance.
type GenesisAccount struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
}

// GenesisValidator is an initial, bonded validator.
type GenesisValidator struct {
	Operator string `json:"operator"`
	// ConsensusKey is the ed25519 public key of the validator's CometBFT
	// priv_validator_key.json, hex (32 bytes).
	ConsensusKey  string `json:"consensus_key"`
	EndorserKey   string `json:"endorser"`
	CommissionBps uint16 `json:"commission_bps"`
	Moniker       string `json:"moniker"`
	SelfStake     uint64 `json:"self_stake"`
}

// GenesisSynchronizer is an initial synchronizer.
type GenesisSynchronizer struct {
	Address string `json:"address"`
	Bond    uint64 `json:"bond"`
	Payout  string `json:"payout"`
}

// Duration is a time.Duration written as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"504h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseGenesis decodes app_state strictly: unknown fields are errors, so a
// misspelt parameter is not silently replaced by zero.
func ParseGenesis(appState []byte) (*Genesis, error) {
	dec := json.NewDecoder(bytes.NewReader(appState))
	dec.DisallowUnknownFields()
	var g Genesis
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the app_state object", ErrGenesis)
	}
	if _, err := g.HashVersion(); err != nil {
		return nil, err
	}
	return &g, nil
}

// HashVersion is the chain's app hash version: AppHashVersion, 0 read as
// 1. Any other value than 0, 1 or 2 is refused rather than guessed at: a
// node that computed another format than its peers would halt at the
// first block.
func (g *Genesis) HashVersion() (apphash.Version, error) {
	if g.AppHashVersion == 0 {
		return apphash.V1, nil
	}
	v := apphash.Version(g.AppHashVersion)
	if !v.Valid() {
		return 0, fmt.Errorf("%w: app_hash_version %d: this node computes versions 1 and 2 (absent means 1)",
			ErrGenesis, g.AppHashVersion)
	}
	return v, nil
}

// resolved is a genesis turned into what the packages take.
type resolved struct {
	utxo    *utxo.Params
	start   btcheaders.StartPoint
	muhash  [32]byte // the set's digest at a start above 0, internal order
	staking staking.Genesis
	params  Params
	hash    apphash.Version
}

func (g *Genesis) resolve() (*resolved, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrGenesis}, a...)...)
	}
	up, err := utxo.ParamsFor(g.Network)
	if err != nil {
		return nil, bad("network: %v", err)
	}
	hv, err := g.HashVersion()
	if err != nil {
		return nil, err
	}
	p := g.Params
	if p.FinalityDepth < 1 {
		return nil, bad("params.finality_depth must be at least 1")
	}
	if p.MaxBTCBytesPerBlock < 1 {
		return nil, bad("params.max_btc_bytes_per_block must be positive")
	}
	if p.MaxHeadersAhead < 1 || p.MaxHeadersPerBlock < 1 {
		return nil, bad("params.max_headers_ahead and params.max_headers_per_block must be positive")
	}
	if p.AttendanceWindow < 1 || p.AttendanceWindow > maxAttendanceWindow {
		return nil, bad("params.attendance_window %d not in 1..%d", p.AttendanceWindow, maxAttendanceWindow)
	}
	if p.MaxOtherTxBytes < 1 {
		return nil, bad("params.max_other_tx_bytes must be positive")
	}
	if g.Start.Height < 0 {
		return nil, bad("start.height %d is negative", g.Start.Height)
	}
	var mu [32]byte
	if g.Start.Height > 0 {
		d, err := muhash.ParseDigest(g.Start.MuHash)
		if err != nil {
			return nil, bad("start.muhash: a start above height 0 needs the UTXO set's MuHash there, 64 hex digits")
		}
		mu = d
		if len(g.Start.Headers) == 0 {
			return nil, bad("start.headers: a start above height 0 needs its header and ancestry")
		}
	} else if g.Start.MuHash != "" || len(g.Start.Headers) > 0 {
		return nil, bad("start: a start at height 0 takes no headers or muhash (the network's genesis is used)")
	}
	start := btcheaders.StartPoint{Height: g.Start.Height}
	for i, h := range g.Start.Headers {
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) != 80 {
			return nil, bad("start.headers[%d]: not 80 bytes of hex", i)
		}
		var hdr wire.BlockHeader
		if err := hdr.Deserialize(bytes.NewReader(raw)); err != nil {
			return nil, bad("start.headers[%d]: %v", i, err)
		}
		start.Headers = append(start.Headers, hdr)
	}
	sg := staking.Genesis{Params: staking.Params{
		MaxValidators: p.MaxValidators, UnbondingPeriod: time.Duration(p.UnbondingPeriod),
		MinSelfStake: p.MinSelfStake, MinSynchronizerBond: p.MinSynchronizerBond, PowerReduction: p.PowerReduction,
		InitialReward: p.InitialReward, HalvingInterval: p.HalvingInterval, SynchronizerShareBps: p.SynchronizerShareBps,
		DoubleSignSlashBps: p.DoubleSignSlashBps, DoubleSignJailDuration: time.Duration(p.DoubleSignJailDuration),
		DowntimeWindow: p.DowntimeWindow, DowntimeMaxMissed: p.DowntimeMaxMissed, LateRewardBps: p.LateRewardBps, DowntimeJailDuration: time.Duration(p.DowntimeJailDuration),
		DowntimeSlashBps: p.DowntimeSlashBps,
	}}
	addr := func(what, s string) (tx.Address, error) {
		a, err := tx.ParseAddress(s)
		if err != nil {
			return a, bad("%s: %v", what, err)
		}
		return a, nil
	}
	for i, a := range g.Accounts {
		ad, err := addr(fmt.Sprintf("accounts[%d].address", i), a.Address)
		if err != nil {
			return nil, err
		}
		sg.Accounts = append(sg.Accounts, staking.GenesisAccount{Address: ad, Balance: a.Balance})
	}
	for i, v := range g.Validators {
		op, err := addr(fmt.Sprintf("validators[%d].operator", i), v.Operator)
		if err != nil {
			return nil, err
		}
		en, err := addr(fmt.Sprintf("validators[%d].endorser", i), v.EndorserKey)
		if err != nil {
			return nil, err
		}
		ck, err := hex.DecodeString(v.ConsensusKey)
		if err != nil || len(ck) != 32 {
			return nil, bad("validators[%d].consensus_key: not 32 bytes of hex", i)
		}
		sg.Validators = append(sg.Validators, staking.GenesisValidator{Operator: op, ConsensusKey: [32]byte(ck),
			EndorserKey: en, CommissionBps: v.CommissionBps, Moniker: v.Moniker, SelfStake: v.SelfStake})
	}
	for i, s := range g.Synchronizers {
		ad, err := addr(fmt.Sprintf("synchronizers[%d].address", i), s.Address)
		if err != nil {
			return nil, err
		}
		pay, err := addr(fmt.Sprintf("synchronizers[%d].payout", i), s.Payout)
		if err != nil {
			return nil, err
		}
		sg.Synchronizers = append(sg.Synchronizers, staking.GenesisSynchronizer{Address: ad, Bond: s.Bond, Payout: pay})
	}
	return &resolved{utxo: up, start: start, muhash: mu, staking: sg, params: p, hash: hv}, nil
}
