package muhash_test

import (
	"fmt"

	"github.com/satnode/satnode/utxo/muhash"
)

// intData is Core's FromInt(i) input: byte i followed by 31 zero bytes.
func intData(i byte) []byte {
	b := make([]byte, 32)
	b[0] = i
	return b
}

// The unit vector of Bitcoin Core's muhash_tests, with the accumulator.
func ExampleMuHash3072() {
	var m muhash.MuHash3072 // the zero value is the empty set
	m.Insert(intData(0))
	m.Insert(intData(1))
	m.Remove(intData(2))
	fmt.Println(m.Finalize())
	// Output: 10d312b100cbd32ada024a6646e40d3482fcff103668d2625f10002a607d5863
}

// The same vector the way a UTXO engine batches a block: multiply the
// created and the spent coins' elements separately, then fold both into the
// running state with a single modular inversion.
func ExampleNum3072() {
	state := muhash.One() // the empty set

	num, den := muhash.One(), muhash.One()
	for _, created := range [][]byte{intData(0), intData(1)} {
		e := muhash.Element(created)
		num.Mul(&e)
	}
	spent := muhash.Element(intData(2))
	den.Mul(&spent)

	state.Mul(&num)
	state.Div(&den)
	fmt.Println(muhash.DigestOf(&state))
	// Output: 10d312b100cbd32ada024a6646e40d3482fcff103668d2625f10002a607d5863
}
