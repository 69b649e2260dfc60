package query

import (
	"fmt"
	"math"
	"strconv"
)

// Amount is a satoshi amount that marshals to JSON as BTC with exactly
// eight decimals, the way Bitcoin Core's ValueFromAmount prints it
// (50.00000000), so clients parsing Core's output parse ours unchanged.
type Amount int64

// MarshalJSON implements json.Marshaler.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// String formats the amount as BTC with eight decimals.
func (a Amount) String() string {
	v := int64(a)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%08d", sign, v/1e8, v%1e8)
}

// UnmarshalJSON parses a BTC decimal back to satoshis exactly, without
// floating point.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac := s, ""
	for i := range s {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			break
		}
	}
	if len(frac) > 8 || whole == "" {
		return fmt.Errorf("query: bad amount %q", b)
	}
	for len(frac) < 8 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > math.MaxInt64/100_000_000-1 {
		return fmt.Errorf("query: bad amount %q", b)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("query: bad amount %q", b)
	}
	v := w*1e8 + f
	if neg {
		v = -v
	}
	*a = Amount(v)
	return nil
}
