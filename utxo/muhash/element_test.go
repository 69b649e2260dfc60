package muhash

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// RFC 7539 appendix A.1 test vectors #1 and #2: all-zero key and nonce,
// block counters 0 and 1.
func TestChaChaBlockRFC(t *testing.T) {
	for ctr, want := range []string{
		"76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
		"9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
	} {
		var key [8]uint32
		var blk [16]uint32
		chachaBlock(&blk, &key, uint32(ctr))
		var got [64]byte
		for i, w := range blk {
			binary.LittleEndian.PutUint32(got[4*i:], w)
		}
		if hex.EncodeToString(got[:]) != want {
			t.Fatalf("block %d = %x, want %s", ctr, got, want)
		}
	}
}

// refElement computes ToNum3072 with golang.org/x/crypto/chacha20, as bytes.
func refElement(t testing.TB, data []byte) [ByteSize]byte {
	h := sha256.Sum256(data)
	c, err := chacha20.NewUnauthenticatedCipher(h[:], make([]byte, chacha20.NonceSize))
	if err != nil {
		t.Fatal(err)
	}
	var out [ByteSize]byte
	c.XORKeyStream(out[:], out[:])
	return out
}

func TestElementMatchesXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for n := range 300 {
		data := make([]byte, n%130)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		e := Element(data)
		var raw [ByteSize]byte
		e.putRaw(&raw) // raw, not Bytes(): Element must not reduce
		if want := refElement(t, data); raw != want {
			t.Fatalf("Element(%x) = %x, want %x", data, raw, want)
		}
	}
}

func TestElementNil(t *testing.T) {
	e1, e2 := Element(nil), Element([]byte{})
	if e1 != e2 {
		t.Fatal("nil and empty input differ")
	}
	var raw [ByteSize]byte
	e1.putRaw(&raw)
	if raw != refElement(t, nil) {
		t.Fatal("Element(nil) wrong")
	}
}
