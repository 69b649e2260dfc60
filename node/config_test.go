package node

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestAppConfigRoundTrip: the file DefaultAppConfig writes parses back to
// the defaults, and sources with characters TOML must escape survive.
func TestAppConfigRoundTrip(t *testing.T) {
	for _, c := range []AppConfig{
		DefaultAppConfig(),
		{Log: LogConfig{Level: "debug"}, UTXO: UTXOConfig{CacheMB: 1},
			Bodies: BodiesConfig{Sources: []string{"/a b/blocks", `C:\x "q"`, "rel/blk00000.dat.bz2", "ü\t"}}},
	} {
		got, err := ParseAppConfig("app.toml", c.Encode())
		if err != nil {
			t.Fatalf("%v\n%s", err, c.Encode())
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
	}
}

// TestAppConfigErrors: unknown keys, wrong types and bad values are
// refused with ErrConfig and a message naming the key; absent keys keep
// their defaults.
func TestAppConfigErrors(t *testing.T) {
	got, err := ParseAppConfig("app.toml", []byte("[utxo]\ncache_mb = 64\n"))
	if err != nil || got.UTXO.CacheMB != 64 || got.Log.Level != "info" || len(got.Bodies.Sources) != 0 {
		t.Fatalf("partial file: %+v, %v", got, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"[utxo]\ncache_mbs = 64\n", "unknown keys utxo.cache_mbs"},
		{"[bodies]\nsource = []\n[extra]\nx = 1\n", "unknown keys bodies.source, extra, extra.x"},
		{"top = 1\n", "unknown keys top"},
		{"[utxo]\ncache_mb = \"64\"\n", "cache_mb"},
		{"[utxo]\ncache_mb = 0\n", "utxo.cache_mb = 0"},
		{"[utxo]\ncache_mb = 99999999\n", "utxo.cache_mb = 99999999"},
		{"[log]\nlevel = \"loud\"\n", `log.level = "loud"`},
		{"[log]\nlevel = \"INFO+2\"\n", `log.level = "INFO+2"`},
		{"[bodies]\nsources = [\"\"]\n", "bodies.sources[0] is empty"},
		{"[bodies]\nsources = \"/x\"\n", "sources"},
		{"not toml", "app.toml"},
	} {
		_, err := ParseAppConfig("app.toml", []byte(tc.file))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want ErrConfig mentioning %q", tc.file, err, tc.want)
		}
	}
	if _, err := LoadAppConfig(t.TempDir()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "satnode init") {
		t.Fatalf("missing app.toml: %v", err)
	}
	if _, err := LoadCometConfig(t.TempDir()); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing config.toml: %v", err)
	}
}

// TestSourcePaths: relative sources are relative to the home.
func TestSourcePaths(t *testing.T) {
	c := AppConfig{Bodies: BodiesConfig{Sources: []string{"/abs/blocks", "rel/blk.dat"}}}
	got := c.SourcePaths("/home/x")
	if want := []string{"/abs/blocks", "/home/x/rel/blk.dat"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
