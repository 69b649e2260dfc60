package muhash

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"math/bits"
)

// Element returns the group element for data, as Core's
// MuHash3072::ToNum3072: the 384-byte ChaCha20 keystream (key
// SHA-256(data), nonce 0, block counter from 0) read as a little-endian
// number.
//
// The result is not reduced: like Core, it is the raw keystream number,
// which is at least p with probability about 2^-3052. Every operation
// accepts such values, and Bytes/Equal/DigestOf reduce first.
func Element(data []byte) Num3072 {
	h := sha256.Sum256(data)
	var key [8]uint32
	for i := range key {
		key[i] = binary.LittleEndian.Uint32(h[4*i:])
	}
	var n Num3072
	var blk [16]uint32
	const blocks = ByteSize / 64
	for ctr := range uint32(blocks) {
		chachaBlock(&blk, &key, ctr)
		// The keystream is little-endian 32-bit words, so it maps onto
		// little-endian limbs without going through bytes.
		if wordBytes == 8 {
			w := (*[8]big.Word)(n.w[8*ctr:])
			for j := range w {
				w[j] = big.Word(uint64(blk[2*j]) | uint64(blk[2*j+1])<<32)
			}
		} else {
			w := (*[16]big.Word)(n.w[16*ctr:])
			for j := range w {
				w[j] = big.Word(blk[j])
			}
		}
	}
	return n
}

// ChaCha20 constants: "expand 32-byte k" as little-endian words.
const (
	sigma0 = 0x61707865
	sigma1 = 0x3320646e
	sigma2 = 0x79622d32
	sigma3 = 0x6b206574
)

// chachaBlock writes ChaCha20 keystream block number counter for key and an
// all-zero nonce. With the nonce and the high counter bits zero, the RFC 8439
// layout (32-bit counter, 96-bit nonce) and the original one (64-bit
// counter, 64-bit nonce), both of which Core has used, give the same stream.
//
// It is written out instead of using golang.org/x/crypto/chacha20 because
// that package has no amd64 assembly either, and producing limbs directly
// skips its cipher setup and byte-wise XOR (see BenchmarkKeystream).
func chachaBlock(out *[16]uint32, key *[8]uint32, counter uint32) {
	x0, x1, x2, x3 := uint32(sigma0), uint32(sigma1), uint32(sigma2), uint32(sigma3)
	x4, x5, x6, x7 := key[0], key[1], key[2], key[3]
	x8, x9, x10, x11 := key[4], key[5], key[6], key[7]
	x12, x13, x14, x15 := counter, uint32(0), uint32(0), uint32(0)

	for range 10 { // 20 rounds: 10 column + diagonal double rounds
		x0, x4, x8, x12 = quarterRound(x0, x4, x8, x12)
		x1, x5, x9, x13 = quarterRound(x1, x5, x9, x13)
		x2, x6, x10, x14 = quarterRound(x2, x6, x10, x14)
		x3, x7, x11, x15 = quarterRound(x3, x7, x11, x15)

		x0, x5, x10, x15 = quarterRound(x0, x5, x10, x15)
		x1, x6, x11, x12 = quarterRound(x1, x6, x11, x12)
		x2, x7, x8, x13 = quarterRound(x2, x7, x8, x13)
		x3, x4, x9, x14 = quarterRound(x3, x4, x9, x14)
	}

	out[0], out[1], out[2], out[3] = x0+sigma0, x1+sigma1, x2+sigma2, x3+sigma3
	out[4], out[5], out[6], out[7] = x4+key[0], x5+key[1], x6+key[2], x7+key[3]
	out[8], out[9], out[10], out[11] = x8+key[4], x9+key[5], x10+key[6], x11+key[7]
	out[12], out[13], out[14], out[15] = x12+counter, x13, x14, x15
}

func quarterRound(a, b, c, d uint32) (uint32, uint32, uint32, uint32) {
	a += b
	d = bits.RotateLeft32(d^a, 16)
	c += d
	b = bits.RotateLeft32(b^c, 12)
	a += b
	d = bits.RotateLeft32(d^a, 8)
	c += d
	b = bits.RotateLeft32(b^c, 7)
	return a, b, c, d
}
