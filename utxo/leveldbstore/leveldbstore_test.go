package leveldbstore_test

import (
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) utxo.Store {
		s, err := leveldbstore.Open(t.TempDir(), leveldbstore.Options{WriteBufferBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
