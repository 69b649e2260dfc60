package core

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// The hot replies (gettxout, the counts and hashes) are appended by hand
// rather than through encoding/json's reflection; the rest use
// appendJSON.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone (as Core does); control characters are escaped and
// invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendHash appends a block or transaction hash as a JSON string in the
// usual byte-reversed hex.
func appendHash(dst []byte, h *chainhash.Hash) []byte {
	dst = append(dst, '"')
	for i := chainhash.HashSize - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[h[i]>>4], hexDigits[h[i]&0xf])
	}
	return append(dst, '"')
}

// appendHex appends b as a JSON string of lowercase hex.
func appendHex(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendAmount appends satoshis as BTC with eight decimals, the way Core's
// ValueFromAmount prints them (query.Amount's format).
func appendAmount(dst []byte, sat int64) []byte {
	u := uint64(sat)
	if sat < 0 {
		dst = append(dst, '-')
		u = -u
	}
	dst = strconv.AppendUint(dst, u/1e8, 10)
	frac := u % 1e8
	var b [9]byte
	b[0] = '.'
	for i := 8; i >= 1; i-- {
		b[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(dst, b[:]...)
}

// appendJSON appends v marshalled by encoding/json.
func appendJSON(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// coreFloat is a float64 that marshals as Core's UniValue::setFloat
// prints doubles: 16 significant digits, %g style (53911173001054.59
// where encoding/json would print 53911173001054.586).
type coreFloat float64

// MarshalJSON implements json.Marshaler.
func (f coreFloat) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(f), 'g', 16, 64), nil
}
