package chaingen

import (
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// smallConfig crosses activation quickly with few transactions, exercising
// every shape, for tests that generate several chains.
func smallConfig() Config {
	c := DefaultConfig()
	c.Blocks = 460
	c.PreActivationTxsPerBlock = 3
	c.TxsPerBlock = 40
	c.KeyPoolSize = 500
	c.ConsolidationRate = 0.02
	c.BatchRate = 0.02
	return c
}

// chainDigest generates the whole chain and returns the block hashes and a
// digest of the serialized blocks (witness included).
func chainDigest(t *testing.T, cfg Config) ([]chainhash.Hash, [32]byte) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	var hashes []chainhash.Hash
	for {
		blk, err := g.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, blk.BlockHash())
		if err := blk.Serialize(h); err != nil {
			t.Fatal(err)
		}
	}
	if len(hashes) != cfg.Blocks+1 {
		t.Fatalf("got %d blocks, want %d", len(hashes), cfg.Blocks+1)
	}
	var d [32]byte
	h.Sum(d[:0])
	return hashes, d
}

func TestDeterminism(t *testing.T) {
	cfg := smallConfig()
	h1, d1 := chainDigest(t, cfg)

	// Same config, different parallelism: GOMAXPROCS=1 (one signer) and
	// many signers must give the same bytes.
	prev := runtime.GOMAXPROCS(1)
	h2, d2 := chainDigest(t, cfg)
	runtime.GOMAXPROCS(prev)
	cfg8 := cfg
	cfg8.Workers = 8
	_, d3 := chainDigest(t, cfg8)
	if d1 != d2 || d1 != d3 {
		t.Fatalf("same config gave different chains: %x %x %x", d1, d2, d3)
	}
	for i := range h1 {
		if h1[i] != h2[i] {
			t.Fatalf("block %d differs", i)
		}
	}

	other := cfg
	other.Seed++
	h4, d4 := chainDigest(t, other)
	if d4 == d1 {
		t.Fatal("different seeds gave the same chain")
	}
	if h4[0] != h1[0] {
		t.Fatal("genesis must not depend on the seed")
	}
	for i := 1; i < len(h1); i++ {
		if h1[i] == h4[i] {
			t.Fatalf("block %d identical for different seeds", i)
		}
	}
}

func TestKeyDerivation(t *testing.T) {
	k1, k2 := Key(7, 3), Key(7, 3)
	if k1.Key != k2.Key {
		t.Fatal("Key is not deterministic")
	}
	if Key(7, 4).Key == k1.Key || Key(8, 3).Key == k1.Key || CosignerKey(7, 3).Key == k1.Key {
		t.Fatal("distinct key indexes or seeds collide")
	}
	// The keyring's cached scripts must equal the exported derivation, which
	// is what later tests use to find and spend outputs.
	kr := newKeyring(7, 5, 2)
	for i := range uint32(5) {
		for ty := range ScriptType(numSpendable) {
			s, err := ScriptsFor(7, i, ty)
			if err != nil {
				t.Fatal(err)
			}
			c := kr.keys[i].scripts[ty]
			if string(s.PkScript) != string(c.PkScript) || string(s.RedeemScript) != string(c.RedeemScript) ||
				string(s.WitnessScript) != string(c.WitnessScript) {
				t.Fatalf("key %d %v: ScriptsFor differs from keyring", i, ty)
			}
		}
	}
	if _, err := ScriptsFor(7, 0, ScriptNullData); err == nil {
		t.Fatal("ScriptsFor(nulldata) must fail")
	}
}

func TestUnspentMatchesSummary(t *testing.T) {
	cfg := smallConfig()
	cfg.Blocks = 440
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := g.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s := g.Summary()
	n, hot := 0, 0
	for c := range g.Unspent() {
		n++
		want, err := ScriptsFor(cfg.Seed, c.KeyIndex, c.Type)
		if err != nil || string(want.PkScript) != string(c.PkScript) {
			t.Fatalf("coin %v: pkScript does not match ScriptsFor: %v", c.OutPoint, err)
		}
		if c.KeyIndex == cfg.Hot[0].KeyIndex && c.Type == cfg.Hot[0].Type {
			hot++
		}
	}
	if n != s.FinalUTXOs || hot != s.HotUTXOs[0] {
		t.Fatalf("Unspent yields %d coins (%d hot), summary says %d (%d)", n, hot, s.FinalUTXOs, s.HotUTXOs[0])
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), BenchConfig(), smallConfig()} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	bad := []func(*Config){
		func(c *Config) { p := *c.Params; p.Name = "mainnet"; c.Params = &p },
		func(c *Config) { c.Blocks = -1 },
		func(c *Config) { c.StartTime = c.Params.GenesisBlock.Header.Timestamp },
		func(c *Config) { c.HotShare = 1.5 },
		func(c *Config) { c.Mix = OutputMix{} },
		func(c *Config) { c.Mix.P2PKH, c.Mix.P2SH = 0, 0 },
		func(c *Config) { c.ConsolidationInputs = [2]int{1, 5} },
		func(c *Config) { c.BatchOutputs = [2]int{10, 5} },
		func(c *Config) { c.FeeRate = [2]int64{5, 1} },
		func(c *Config) { c.KeyPoolSize = 3 },
		func(c *Config) { c.Hot[0].KeyIndex = 9 },
		func(c *Config) { c.Hot[0].Type = ScriptNullData },
		func(c *Config) { c.InBlockSpendRate, c.OldSpendRate = 0.6, 0.6 },
	}
	for i, mut := range bad {
		c := DefaultConfig()
		c.Hot = append([]HotAddress(nil), c.Hot...)
		mut(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("case %d: got %v, want *ConfigError", i, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("case %d: New accepted an invalid config", i)
		}
	}
}
