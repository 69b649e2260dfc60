package tx

// BodyVersion is the first byte of every body. A new encoding gets a new
// version; this package decodes version 1 only.
const BodyVersion = 1

// EncodeMsg returns the canonical body of m: BodyVersion, the kind byte,
// then the fields (see doc.go). It runs m.ValidateBasic first, so it never
// produces a body DecodeMsg would reject.
func EncodeMsg(m Msg) ([]byte, error) {
	if m == nil {
		return nil, errorf(CodeInternal, "EncodeMsg of a nil message")
	}
	if err := m.ValidateBasic(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64)
	b = append(b, BodyVersion, byte(m.Kind()))
	return m.appendFields(b), nil
}

// DecodeMsg decodes a body strictly: an unknown version or kind,
// truncation, trailing bytes, a non-minimal varint or a count over its
// limit is rejected (CodeMalformed or CodeTooLarge), and so is a message
// that fails ValidateBasic. For every b it accepts, EncodeMsg of the result
// returns b again: there is exactly one encoding of each message.
//
// The returned message does not alias b.
func DecodeMsg(b []byte) (Msg, error) {
	if len(b) > MaxTxBytes {
		return nil, errorf(CodeTooLarge, "body of %d bytes exceeds %d", len(b), MaxTxBytes)
	}
	r := &reader{b: b}
	ver, err := r.u8("body version")
	if err != nil {
		return nil, err
	}
	if ver != BodyVersion {
		return nil, errorf(CodeMalformed, "unknown body version %d", ver)
	}
	k, err := r.u8("kind")
	if err != nil {
		return nil, err
	}
	var m Msg
	switch Kind(k) {
	case KindTransfer:
		m, err = decodeTransfer(r)
	case KindCreateValidator:
		m, err = decodeCreateValidator(r)
	case KindDelegate:
		var d Delegate
		d.Validator, d.Amount, err = decodeAddrAmount(r, "validator")
		m = d
	case KindUndelegate:
		var u Undelegate
		u.Validator, u.Amount, err = decodeAddrAmount(r, "validator")
		m = u
	case KindRegisterSynchronizer:
		m, err = decodeRegisterSynchronizer(r)
	case KindSubmitHeaders:
		m, err = decodeSubmitHeaders(r)
	case KindEndorse:
		m, err = decodeEndorse(r)
	case KindUnjail:
		m = Unjail{}
	case KindWithdrawRewards:
		var w WithdrawRewards
		w.Validator, err = r.array32("validator")
		m = w
	default:
		return nil, errorf(CodeMalformed, "unknown message kind %d", k)
	}
	if err != nil {
		return nil, err
	}
	if n := r.remaining(); n != 0 {
		return nil, errorf(CodeMalformed, "%d trailing bytes after %s at offset %d", n, Kind(k), r.off)
	}
	if err := m.ValidateBasic(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m Transfer) appendFields(b []byte) []byte {
	b = append(b, m.To[:]...)
	return appendU64(b, m.Amount)
}

func decodeTransfer(r *reader) (Msg, error) {
	var m Transfer
	var err error
	if m.To, err = r.array32("to"); err != nil {
		return nil, err
	}
	if m.Amount, err = r.u64("amount"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m CreateValidator) appendFields(b []byte) []byte {
	b = append(b, m.ConsensusKey[:]...)
	b = append(b, m.EndorserKey[:]...)
	b = appendU16(b, m.CommissionBps)
	b = appendU64(b, m.SelfStake)
	b = appendCount(b, len(m.Moniker))
	return append(b, m.Moniker...)
}

func decodeCreateValidator(r *reader) (Msg, error) {
	var m CreateValidator
	var err error
	if m.ConsensusKey, err = r.array32("consensus key"); err != nil {
		return nil, err
	}
	if m.EndorserKey, err = r.array32("endorser key"); err != nil {
		return nil, err
	}
	if m.CommissionBps, err = r.u16("commission"); err != nil {
		return nil, err
	}
	if m.SelfStake, err = r.u64("self stake"); err != nil {
		return nil, err
	}
	n, err := r.count(MaxMonikerBytes, CodeInvalidMoniker, 1, "moniker")
	if err != nil {
		return nil, err
	}
	s, err := r.take(n, "moniker")
	if err != nil {
		return nil, err
	}
	m.Moniker = string(s)
	return m, nil
}

func (m Delegate) appendFields(b []byte) []byte {
	b = append(b, m.Validator[:]...)
	return appendU64(b, m.Amount)
}

func (m Undelegate) appendFields(b []byte) []byte {
	b = append(b, m.Validator[:]...)
	return appendU64(b, m.Amount)
}

// decodeAddrAmount decodes the address-then-amount layout Delegate and
// Undelegate share.
func decodeAddrAmount(r *reader, what string) (Address, uint64, error) {
	a, err := r.array32(what)
	if err != nil {
		return a, 0, err
	}
	v, err := r.u64("amount")
	return a, v, err
}

func (m RegisterSynchronizer) appendFields(b []byte) []byte {
	b = appendU64(b, m.Bond)
	return append(b, m.Payout[:]...)
}

func decodeRegisterSynchronizer(r *reader) (Msg, error) {
	var m RegisterSynchronizer
	var err error
	if m.Bond, err = r.u64("bond"); err != nil {
		return nil, err
	}
	if m.Payout, err = r.array32("payout"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m SubmitHeaders) appendFields(b []byte) []byte {
	b = appendCount(b, len(m.Headers))
	for i := range m.Headers {
		b = append(b, m.Headers[i][:]...)
	}
	return b
}

func decodeSubmitHeaders(r *reader) (Msg, error) {
	n, err := r.count(MaxHeadersPerTx, CodeTooLarge, HeaderSize, "headers")
	if err != nil {
		return nil, err
	}
	// count checked n*HeaderSize bytes are present: the takes cannot fail.
	m := SubmitHeaders{Headers: make([][HeaderSize]byte, n)}
	for i := range m.Headers {
		s, err := r.take(HeaderSize, "header")
		if err != nil {
			return nil, err
		}
		m.Headers[i] = [HeaderSize]byte(s)
	}
	return m, nil
}

// endorsementSize is an Endorsement's encoded size: height and hash.
const endorsementSize = 4 + 32

func (m Endorse) appendFields(b []byte) []byte {
	b = appendCount(b, len(m.Items))
	for _, it := range m.Items {
		b = appendU32(b, it.Height)
		b = append(b, it.Hash[:]...)
	}
	return b
}

func decodeEndorse(r *reader) (Msg, error) {
	n, err := r.count(MaxEndorsementsPerTx, CodeTooLarge, endorsementSize, "endorsements")
	if err != nil {
		return nil, err
	}
	m := Endorse{Items: make([]Endorsement, n)}
	for i := range m.Items {
		if m.Items[i].Height, err = r.u32("endorsement height"); err != nil {
			return nil, err
		}
		if m.Items[i].Hash, err = r.array32("endorsement hash"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (Unjail) appendFields(b []byte) []byte { return b }

func (m WithdrawRewards) appendFields(b []byte) []byte {
	return append(b, m.Validator[:]...)
}
