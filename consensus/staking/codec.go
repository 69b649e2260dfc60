package staking

import (
	"encoding/binary"
	"math"
	"time"
	"unicode/utf8"

	"github.com/satnode/satnode/consensus/tx"
)

// Record keys and values; doc.go documents the layout and
// format_test.go pins it with the worked example there.

const (
	tagAccount      byte = 'a'
	tagParams       byte = 'c'
	tagDelegation   byte = 'd'
	tagGlobal       byte = 'g'
	tagMissed       byte = 'm'
	tagPower        byte = 'p'
	tagSynchronizer byte = 's'
	tagUnbonding    byte = 'u'
	tagValidator    byte = 'v'
	tagWindow       byte = 'w'

	keyVersion byte = 1

	accountValueLen      = 16
	delegationValueLen   = 40
	globalValueLen       = 16
	paramsValueLen       = 80
	powerValueLen        = 8
	synchronizerValueLen = 40
	unbondingValueLen    = 8
	validatorFixedLen    = 144 // without the moniker bytes
)

// Keys are built as strings without the caller's prefix byte: they index
// the in-memory record map, and WriteChanges prepends the prefix.

func key(tag byte, parts ...[]byte) string {
	b := []byte{tag, keyVersion}
	for _, p := range parts {
		b = append(b, p...)
	}
	return string(b)
}

func paramsKey() string                     { return key(tagParams) }
func globalKey() string                     { return key(tagGlobal) }
func accountKey(a tx.Address) string        { return key(tagAccount, a[:]) }
func validatorKey(op tx.Address) string     { return key(tagValidator, op[:]) }
func synchronizerKey(a tx.Address) string   { return key(tagSynchronizer, a[:]) }
func powerKey(pub [32]byte) string          { return key(tagPower, pub[:]) }
func delegationKey(d, op tx.Address) string { return key(tagDelegation, d[:], op[:]) }

// orderedInt64 maps an int64 to a uint64 whose big-endian bytes sort in
// the same order (flip the sign bit), so keys sort by time and height.
func orderedInt64(v int64) uint64 { return uint64(v) ^ (1 << 63) }

func unbondingKey(k ubKey) string {
	b := make([]byte, 0, 2+8+32+32+8)
	b = append(b, tagUnbonding, keyVersion)
	b = binary.BigEndian.AppendUint64(b, orderedInt64(k.completion))
	b = append(b, k.delegator[:]...)
	b = append(b, k.validator[:]...)
	b = binary.BigEndian.AppendUint64(b, orderedInt64(k.height))
	return string(b)
}

func parseUnbondingKey(body []byte) (ubKey, bool) {
	var k ubKey
	if len(body) != 8+32+32+8 {
		return k, false
	}
	k.completion = int64(binary.BigEndian.Uint64(body) ^ (1 << 63))
	copy(k.delegator[:], body[8:40])
	copy(k.validator[:], body[40:72])
	k.height = int64(binary.BigEndian.Uint64(body[72:]) ^ (1 << 63))
	return k, true
}

// reader consumes a fixed layout; a short read sets bad instead of
// panicking, so decoders check once at the end.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8     { return r.take(1)[0] }
func (r *reader) u16() uint16   { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32   { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64   { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) i64() int64    { return int64(r.u64()) }
func (r *reader) b32() [32]byte { return [32]byte(r.take(32)) }

// done reports whether the value was exactly consumed.
func (r *reader) done() bool { return !r.bad && len(r.b) == 0 }

func encodeAccount(a *account) []byte {
	b := make([]byte, 0, accountValueLen)
	b = binary.BigEndian.AppendUint64(b, a.balance)
	return binary.BigEndian.AppendUint64(b, a.nonce)
}

func decodeAccount(v []byte) (*account, error) {
	r := reader{b: v}
	a := &account{balance: r.u64(), nonce: r.u64()}
	if !r.done() {
		return nil, corruptf("account value of %d bytes, want %d", len(v), accountValueLen)
	}
	return a, nil
}

func encodeValidator(v *validator) []byte {
	b := make([]byte, 0, validatorFixedLen+len(v.moniker))
	b = append(b, v.consensusKey[:]...)
	b = append(b, v.endorser[:]...)
	b = binary.BigEndian.AppendUint16(b, v.commissionBps)
	b = binary.BigEndian.AppendUint64(b, v.tokens)
	b = binary.BigEndian.AppendUint64(b, v.shares)
	b = append(b, jailStatus(v))
	b = binary.BigEndian.AppendUint64(b, uint64(v.jailedUntil))
	b = binary.BigEndian.AppendUint32(b, v.missed)
	b = binary.BigEndian.AppendUint64(b, v.commission)
	b = binary.BigEndian.AppendUint64(b, v.pool)
	b = append(b, v.acc[:]...)
	b = append(b, byte(len(v.moniker)))
	return append(b, v.moniker...)
}

// The validator's jail byte: free, jailed, or tombstoned (jailed for
// good after a double sign).
const (
	jailFree       byte = 0
	jailJailed     byte = 1
	jailTombstoned byte = 2
)

func jailStatus(v *validator) byte {
	switch {
	case v.tombstoned:
		return jailTombstoned
	case v.jailed:
		return jailJailed
	}
	return jailFree
}

func decodeValidator(op tx.Address, val []byte) (*validator, error) {
	r := reader{b: val}
	v := &validator{operator: op}
	v.consensusKey = r.b32()
	v.endorser = r.b32()
	v.commissionBps = r.u16()
	v.tokens = r.u64()
	v.shares = r.u64()
	jailed := r.u8()
	v.jailedUntil = r.i64()
	v.missed = r.u32()
	v.commission = r.u64()
	v.pool = r.u64()
	v.acc = r.b32()
	n := int(r.u8())
	moniker := r.take(n)
	if !r.done() {
		return nil, corruptf("validator %x: value of %d bytes does not match its layout", op[:], len(val))
	}
	switch {
	case jailed > jailTombstoned:
		return nil, corruptf("validator %x: jailed flag %d", op[:], jailed)
	case v.commissionBps > tx.MaxCommissionBps:
		return nil, corruptf("validator %x: commission %d bps", op[:], v.commissionBps)
	case n > tx.MaxMonikerBytes || !utf8.Valid(moniker):
		return nil, corruptf("validator %x: bad moniker", op[:])
	}
	v.jailed, v.tombstoned = jailed != jailFree, jailed == jailTombstoned
	v.moniker = string(moniker)
	return v, nil
}

func encodeDelegation(d *delegation) []byte {
	b := make([]byte, 0, delegationValueLen)
	b = binary.BigEndian.AppendUint64(b, d.shares)
	return append(b, d.last[:]...)
}

func decodeDelegation(v []byte) (*delegation, error) {
	r := reader{b: v}
	d := &delegation{shares: r.u64(), last: r.b32()}
	if !r.done() || d.shares == 0 {
		return nil, corruptf("delegation value %x: want %d bytes with positive shares", v, delegationValueLen)
	}
	return d, nil
}

func encodeAmount(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// decodePositive decodes the unbonding amount and reported power values:
// one positive 8-byte integer, below 2^63 when it is a power.
func decodePositive(v []byte, max uint64) (uint64, error) {
	r := reader{b: v}
	x := r.u64()
	if !r.done() || x == 0 || x > max {
		return 0, corruptf("value %x: want a positive 8-byte integer up to %d", v, max)
	}
	return x, nil
}

func encodeSynchronizer(y *synchronizer) []byte {
	b := make([]byte, 0, synchronizerValueLen)
	b = binary.BigEndian.AppendUint64(b, y.bond)
	return append(b, y.payout[:]...)
}

func decodeSynchronizer(v []byte) (*synchronizer, error) {
	r := reader{b: v}
	y := &synchronizer{bond: r.u64(), payout: r.b32()}
	if !r.done() || y.bond == 0 {
		return nil, corruptf("synchronizer value %x: want %d bytes with a positive bond", v, synchronizerValueLen)
	}
	return y, nil
}

func encodeGlobal(supply, community uint64) []byte {
	b := make([]byte, 0, globalValueLen)
	b = binary.BigEndian.AppendUint64(b, supply)
	return binary.BigEndian.AppendUint64(b, community)
}

func decodeGlobal(v []byte) (supply, community uint64, err error) {
	r := reader{b: v}
	supply, community = r.u64(), r.u64()
	if !r.done() {
		return 0, 0, corruptf("global value of %d bytes, want %d", len(v), globalValueLen)
	}
	return supply, community, nil
}

func encodeParams(p Params) []byte {
	b := make([]byte, 0, paramsValueLen)
	b = binary.BigEndian.AppendUint32(b, p.MaxValidators)
	b = binary.BigEndian.AppendUint64(b, uint64(p.UnbondingPeriod))
	b = binary.BigEndian.AppendUint64(b, p.MinSelfStake)
	b = binary.BigEndian.AppendUint64(b, p.MinSynchronizerBond)
	b = binary.BigEndian.AppendUint64(b, p.PowerReduction)
	b = binary.BigEndian.AppendUint64(b, p.InitialReward)
	b = binary.BigEndian.AppendUint32(b, p.HalvingInterval)
	b = binary.BigEndian.AppendUint16(b, p.SynchronizerShareBps)
	b = binary.BigEndian.AppendUint16(b, p.DoubleSignSlashBps)
	b = binary.BigEndian.AppendUint64(b, uint64(p.DoubleSignJailDuration))
	b = binary.BigEndian.AppendUint32(b, p.DowntimeMaxMissed)
	b = binary.BigEndian.AppendUint64(b, uint64(p.DowntimeJailDuration))
	b = binary.BigEndian.AppendUint16(b, p.DowntimeSlashBps)
	b = binary.BigEndian.AppendUint32(b, p.DowntimeWindow)
	return binary.BigEndian.AppendUint16(b, p.LateRewardBps)
}

func decodeParams(v []byte) (Params, error) {
	r := reader{b: v}
	p := Params{
		MaxValidators:          r.u32(),
		UnbondingPeriod:        time.Duration(r.i64()),
		MinSelfStake:           r.u64(),
		MinSynchronizerBond:    r.u64(),
		PowerReduction:         r.u64(),
		InitialReward:          r.u64(),
		HalvingInterval:        r.u32(),
		SynchronizerShareBps:   r.u16(),
		DoubleSignSlashBps:     r.u16(),
		DoubleSignJailDuration: time.Duration(r.i64()),
		DowntimeMaxMissed:      r.u32(),
		DowntimeJailDuration:   time.Duration(r.i64()),
		DowntimeSlashBps:       r.u16(),
		DowntimeWindow:         r.u32(),
		LateRewardBps:          r.u16(),
	}
	if !r.done() {
		return Params{}, corruptf("params value of %d bytes, want %d", len(v), paramsValueLen)
	}
	if err := p.Validate(); err != nil {
		return Params{}, corruptf("stored params: %v", err)
	}
	return p, nil
}

const maxPower = math.MaxInt64
