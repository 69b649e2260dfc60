package coresnap_test

import (
	"fmt"
	"io"
	"os"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/muhash"
)

// Read a snapshot Core wrote with `dumptxoutset`, and compute what
// `gettxoutsetinfo muhash` says for it.
func ExampleReader() {
	f, err := os.Open("../../testdata/mainnet/utxo-mainnet-14131.dat")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	// The height of the base is not in the file: the caller knows it.
	r, err := coresnap.NewReader(f, coresnap.MainNet, 14131)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := r.Meta()
	fmt.Println(m.Network, m.BaseHash, m.Count)
	set := muhash.New()
	var total int64
	var elem []byte
	for {
		op, c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		total += c.Value
		elem = utxo.AppendMuHashElement(elem[:0], &op, &c)
		set.Insert(elem)
	}
	fmt.Println(r.CoinsRead(), "coins,", total/100_000_000, "BTC")
	fmt.Println("muhash", set.Finalize())
	// Output:
	// mainnet 00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c 13416
	// 13416 coins, 706550 BTC
	// muhash 859e27f17a6cce9768b75dd0dbd969890157d29a152b0f4a0afa6c67cbcd5975
}
