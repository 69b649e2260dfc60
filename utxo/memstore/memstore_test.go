package memstore_test

import (
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) utxo.Store { return memstore.New() })
}
