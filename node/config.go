package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/viper"
)

// ErrConfig wraps every problem with config.toml or app.toml.
var ErrConfig = errors.New("node: invalid configuration")

// Paths inside a home directory.
const (
	AppConfigFile = "config/app.toml"
	// StoreDir holds satnode's goleveldb store, beside CometBFT's
	// databases in data/.
	StoreDir = "data/satnode"
	// KeysDir is the keyring's directory.
	KeysDir = "keys"
)

// AppConfig is app.toml: satnode's settings, beside CometBFT's config.toml.
// Every key is documented in the file DefaultAppConfig writes (see
// appConfigTemplate); unknown keys are errors, so a misspelt key is not
// silently ignored.
type AppConfig struct {
	Log    LogConfig    `toml:"log"`
	UTXO   UTXOConfig   `toml:"utxo"`
	Bodies BodiesConfig `toml:"bodies"`
}

// LogConfig is the [log] table.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string `toml:"level"`
}

// UTXOConfig is the [utxo] table.
type UTXOConfig struct {
	// CacheMB is the UTXO engine's coin cache budget, in MiB.
	CacheMB int64 `toml:"cache_mb"`
}

// BodiesConfig is the [bodies] table.
type BodiesConfig struct {
	// Sources are blk files (plain, xor-obfuscated or .bz2) or Bitcoin
	// Core blocks/ directories; relative paths are relative to the home.
	Sources []string `toml:"sources"`
}

// DefaultAppConfig is what Init writes.
func DefaultAppConfig() AppConfig {
	return AppConfig{Log: LogConfig{Level: "info"}, UTXO: UTXOConfig{CacheMB: 256}, Bodies: BodiesConfig{Sources: []string{}}}
}

// maxCacheMB bounds cache_mb: a typo with extra digits should fail at
// start, not when the machine runs out of memory hours later.
const maxCacheMB = 1 << 20

// Validate checks every field.
func (c AppConfig) Validate() error {
	if _, err := c.Log.level(); err != nil {
		return err
	}
	if c.UTXO.CacheMB < 1 || c.UTXO.CacheMB > maxCacheMB {
		return fmt.Errorf("%w: utxo.cache_mb = %d, want 1..%d", ErrConfig, c.UTXO.CacheMB, maxCacheMB)
	}
	for i, s := range c.Bodies.Sources {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: bodies.sources[%d] is empty", ErrConfig, i)
		}
	}
	return nil
}

func (l LogConfig) level() (slog.Level, error) {
	var lvl slog.Level
	switch l.Level {
	case "debug", "info", "warn", "error":
		// slog also takes "INFO+2" and the like; keep the file's language
		// to the four documented words.
		if err := lvl.UnmarshalText([]byte(l.Level)); err == nil {
			return lvl, nil
		}
	}
	return 0, fmt.Errorf("%w: log.level = %q, want debug, info, warn or error", ErrConfig, l.Level)
}

// SourcePaths returns bodies.sources with relative paths resolved against
// home.
func (c AppConfig) SourcePaths(home string) []string {
	out := make([]string, len(c.Bodies.Sources))
	for i, s := range c.Bodies.Sources {
		if !filepath.IsAbs(s) {
			s = filepath.Join(home, s)
		}
		out[i] = s
	}
	return out
}

// LoadAppConfig reads and validates home's app.toml. Keys that are absent
// keep their defaults; unknown keys are errors.
func LoadAppConfig(home string) (AppConfig, error) {
	path := filepath.Join(home, AppConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return AppConfig{}, fmt.Errorf("%w: %s does not exist (is %s a home made by `satnode init`?)", ErrConfig, path, home)
	}
	if err != nil {
		return AppConfig{}, fmt.Errorf("node: %w", err)
	}
	return ParseAppConfig(path, data)
}

// ParseAppConfig decodes app.toml's contents; path is for messages.
func ParseAppConfig(path string, data []byte) (AppConfig, error) {
	c := DefaultAppConfig()
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return AppConfig{}, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		slices.Sort(keys)
		return AppConfig{}, fmt.Errorf("%w: %s: unknown keys %s", ErrConfig, path, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return AppConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// appConfigTemplate is app.toml with every key documented. %s are the
// values, in order: level, cache_mb, sources.
const appConfigTemplate = `# satnode's configuration. CometBFT's own settings (ports, peers, block
# times, its log filter) are in config.toml beside this file.
# Unknown keys are an error, so a misspelt key is not silently ignored.

[log]
# Minimum level of the log lines written to standard error: "debug",
# "info", "warn" or "error". CometBFT's lines are first filtered per module
# by log_level in config.toml, and written in its log_format ("plain" or
# "json"), like satnode's own.
level = %s

[utxo]
# Budget of the in-memory coin cache, in MiB (1..1048576). Larger caches
# absorb more outputs created and spent between commits; the process needs
# this much memory on top of goleveldb's and CometBFT's.
cache_mb = %d

[bodies]
# Where Bitcoin block bodies come from, to apply the blocks the chain
# endorses: blk files as Bitcoin Core writes them (plain, or obfuscated with
# the xor.dat beside them), bzip2-compressed blk files (".bz2"), or Bitcoin
# Core blocks/ directories. Relative paths are relative to the home
# directory. The files are indexed once at start: blocks written to them
# later are seen after a restart. Compressed files cannot be read by
# position, so their blocks are held in memory (their decompressed size).
# With no source, a node waits for every body and says so in its log.
# Example: sources = ["/var/lib/bitcoind/blocks"]
sources = %s
`

// Encode renders c as a documented app.toml.
func (c AppConfig) Encode() []byte {
	// JSON strings are valid TOML basic strings: the escapes JSON emits
	// (\", \\, \n, \uXXXX, ...) are all TOML escapes.
	q := func(s string) string {
		b, _ := json.Marshal(s) // a string always marshals
		return string(b)
	}
	srcs := make([]string, len(c.Bodies.Sources))
	for i, s := range c.Bodies.Sources {
		srcs[i] = q(s)
	}
	return fmt.Appendf(nil, appConfigTemplate, q(c.Log.Level), c.UTXO.CacheMB, "["+strings.Join(srcs, ", ")+"]")
}

// LoadCometConfig reads home's config/config.toml into CometBFT's config,
// rooted at home, and validates it. Absent keys keep CometBFT's defaults.
// It uses its own viper instance, not viper's global one, so that several
// nodes can be loaded in one process (tests).
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	path := filepath.Join(home, "config", "config.toml")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist (is %s a home made by `satnode init`?)", ErrConfig, path, home)
	}
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	cfg := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	return cfg, nil
}
