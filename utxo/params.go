package utxo

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Params are the consensus parameters the engine needs for one network. They
// follow Bitcoin Core's chainparams where Core and btcd differ, because the
// set must match Core's gettxoutsetinfo.
type Params struct {
	// Name is the network name used on the command line and stored in the
	// database: mainnet, testnet3, signet, regtest or simnet.
	Name string
	// Chain holds btcd's parameters: genesis block, proof-of-work limit,
	// subsidy halving interval, coinbase maturity.
	Chain *chaincfg.Params

	// BIP34Height and BIP34Hash: once the block at BIP34Height on the chain
	// being connected has hash BIP34Hash, duplicate transactions are
	// impossible and Core stops the BIP30 lookups (until height
	// bip34ImpliesBIP30Limit). A zero hash never matches, so BIP30 is always
	// enforced (Core's regtest and signet).
	BIP34Height int32
	BIP34Hash   chainhash.Hash

	// BIP30Unspendable lists the blocks whose coinbase outputs Core never
	// adds to the set, because a later coinbase with the same txid
	// overwrote them (mainnet 91722 and 91812; Core's IsBIP30Unspendable).
	BIP30Unspendable map[int32]chainhash.Hash
	// BIP30Repeat lists the blocks that created those duplicates (mainnet
	// 91842 and 91880; Core's IsBIP30Repeat); they are exempt from the
	// BIP30 check.
	BIP30Repeat map[int32]chainhash.Hash

	// Script verification: activation heights of the buried deployments
	// and Core's per-block flag exceptions (only used with script
	// validation on).
	DERSigHeight, CLTVHeight, CSVHeight, SegwitHeight int32
	ScriptFlagExceptions                              map[chainhash.Hash]ScriptFlags
}

// bip34ImpliesBIP30Limit is Core's BIP34_IMPLIES_BIP30_LIMIT: from this
// height on, coinbases of pre-BIP34 blocks could in theory be repeated, so
// BIP30 is enforced again.
const bip34ImpliesBIP30Limit = 1983702

func mustHash(s string) chainhash.Hash {
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		panic(err) // only called on the constants below
	}
	return *h
}

// MainNet returns the parameters of Bitcoin mainnet.
func MainNet() *Params {
	return &Params{
		Name:        "mainnet",
		Chain:       &chaincfg.MainNetParams,
		BIP34Height: 227931,
		BIP34Hash:   mustHash("000000000000024b89b42a942fe0d9fea3bb44ab7bd1b19115dd6a759c0808b8"),
		BIP30Unspendable: map[int32]chainhash.Hash{
			91722: mustHash("00000000000271a2dc26e7667f8419f2e15416dc6955e5a6c6cdf3f2574dd08e"),
			91812: mustHash("00000000000af0aed4792b1acee3d966af36cf5def14935db8de83d6f9306f2f"),
		},
		BIP30Repeat: map[int32]chainhash.Hash{
			91842: mustHash("00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec"),
			91880: mustHash("00000000000743f190a18c5577a3c2d2a1f610ae9601ac046a38084ccb7cd721"),
		},
		DERSigHeight: 363725,
		CLTVHeight:   388381,
		CSVHeight:    419328,
		SegwitHeight: 481824,
		ScriptFlagExceptions: map[chainhash.Hash]ScriptFlags{
			// BIP16 exception: the one block that violates P2SH.
			mustHash("00000000000002dc756eebf4f49723ed8d30cc28a5f108eb94b1ba88ac4f9c22"): 0,
			// Taproot exception: the one block that violates taproot rules.
			mustHash("0000000000000000000f14c35b2d841e986ab5441de8c585d5ffe55ea1e395ad"): FlagP2SH | FlagWitness,
		},
	}
}

// TestNet3 returns the parameters of testnet3.
func TestNet3() *Params {
	return &Params{
		Name:         "testnet3",
		Chain:        &chaincfg.TestNet3Params,
		BIP34Height:  21111,
		BIP34Hash:    mustHash("0000000023b3a96d3484e5abb3755c413e7d41500f8e2a5c3f0dd01299cd8ef8"),
		DERSigHeight: 330776,
		CLTVHeight:   581885,
		CSVHeight:    770112,
		SegwitHeight: 834624,
		ScriptFlagExceptions: map[chainhash.Hash]ScriptFlags{
			mustHash("00000000dd30457c001f4095d208cc1296b0eed002427aa599874af7a432b105"): 0,
		},
	}
}

// SigNet returns the parameters of the default signet.
func SigNet() *Params {
	return &Params{
		Name: "signet", Chain: &chaincfg.SigNetParams,
		BIP34Height: 1, DERSigHeight: 1, CLTVHeight: 1, CSVHeight: 1, SegwitHeight: 1,
	}
}

// RegTest returns the parameters of regtest. The script flags follow Core's
// regtest (every deployment active from height 1), which is a superset of
// what btcd's regtest enforces once its version-bits deployments activate.
func RegTest() *Params {
	return &Params{
		Name: "regtest", Chain: &chaincfg.RegressionNetParams,
		BIP34Height: 1, DERSigHeight: 1, CLTVHeight: 1, CSVHeight: 1, SegwitHeight: 0,
	}
}

// SimNet returns the parameters of btcd's simnet.
func SimNet() *Params {
	return &Params{
		Name: "simnet", Chain: &chaincfg.SimNetParams,
		BIP34Height: 0, DERSigHeight: 0, CLTVHeight: 0, CSVHeight: 0, SegwitHeight: 0,
	}
}

// NetworkNames lists the names ParamsFor accepts.
func NetworkNames() []string { return []string{"mainnet", "testnet3", "signet", "regtest", "simnet"} }

// ParamsFor returns the parameters of the named network.
func ParamsFor(name string) (*Params, error) {
	switch name {
	case "mainnet", "main":
		return MainNet(), nil
	case "testnet3", "testnet", "test":
		return TestNet3(), nil
	case "signet":
		return SigNet(), nil
	case "regtest":
		return RegTest(), nil
	case "simnet":
		return SimNet(), nil
	}
	return nil, fmt.Errorf("utxo: unknown network %q (want one of %v)", name, NetworkNames())
}

// Subsidy is the block subsidy at height in satoshis: 50 BTC halved every
// SubsidyReductionInterval blocks.
func (p *Params) Subsidy(height int32) int64 {
	interval := p.Chain.SubsidyReductionInterval
	if interval <= 0 {
		return 50 * satPerBTC
	}
	halvings := height / interval
	if halvings >= 64 {
		return 0
	}
	return (50 * satPerBTC) >> uint(halvings)
}

// validate checks that the parameters are usable.
func (p *Params) validate() error {
	if p == nil || p.Chain == nil || p.Chain.GenesisBlock == nil || p.Chain.GenesisHash == nil {
		return fmt.Errorf("utxo: incomplete network parameters")
	}
	if p.Name == "" {
		return fmt.Errorf("utxo: network parameters have no name")
	}
	return nil
}

const (
	satPerBTC = 100_000_000
	// MaxMoney is Core's MAX_MONEY: 21 million BTC in satoshis.
	MaxMoney = 21_000_000 * satPerBTC
)
