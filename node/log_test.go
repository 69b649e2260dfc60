package node

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
)

// TestLogPerBlock runs a one-validator node in process at the default log
// configuration (app.toml [log] level "info", config.toml log_level as
// satnode writes it) and bounds what it writes per committed block: at
// CometBFT's "info" it was about eight lines a block, "Timed out" among
// them; now CometBFT writes only errors and an idle chain's blocks add
// nothing.
func TestLogPerBlock(t *testing.T) {
	home, rpc := initFast(t)
	cfg, err := LoadCometConfig(home)
	if err != nil || cfg.LogLevel != DefaultCometLogLevel {
		t.Fatalf("log_level %q (%v), want %q", cfg.LogLevel, err, DefaultCometLogLevel)
	}
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, home, Options{LogOutput: &logs}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	h0, _ := waitHeight(t, rpc, 3)
	before := logs.String()
	const blocks = 30
	h1, _ := waitHeight(t, rpc, h0+blocks)
	during := strings.TrimPrefix(logs.String(), before)
	lines := strings.Count(during, "\n")
	t.Logf("%d lines over %d blocks (%d..%d)", lines, h1-h0, h0, h1)
	// Allow the sync log's "live" and a stray line; not one per block.
	if lines > 3 {
		t.Fatalf("%d log lines over %d blocks:\n%s", lines, h1-h0, during)
	}
	all := logs.String()
	if strings.Contains(all, "Timed out") || strings.Contains(all, "module=consensus") {
		t.Fatalf("CometBFT's consensus chatter at the default level:\n%s", all)
	}
	for _, want := range []string{`msg="node ready"`, `msg="node started"`} {
		if !strings.Contains(all, want) {
			t.Errorf("satnode's own %s line is missing at [log] level info:\n%s", want, all)
		}
	}
}

// TestCometLogLevel: CometBFT's lines follow config.toml's log_level
// alone, per module, with unnamed modules at DefaultCometLogLevel;
// satnode's follow [log] level alone; a log_level absent from config.toml
// is DefaultCometLogLevel, one CometBFT cannot parse an error.
func TestCometLogLevel(t *testing.T) {
	for _, tc := range []struct {
		logLevel string
		want     []string // of the lines below, those written
	}{
		{"error", []string{"consensus error", "satnode warn"}},
		{"info", []string{"consensus info", "consensus error", "p2p info", "satnode warn"}},
		{"consensus:info", []string{"consensus info", "consensus error", "satnode warn"}},
		{"consensus:debug,*:info", []string{"consensus debug", "consensus info", "consensus error", "p2p info", "satnode warn"}},
	} {
		var buf bytes.Buffer
		h := newHandler(&buf, cmtcfg.LogFormatPlain)
		cfg := cmtcfg.DefaultConfig()
		cfg.LogLevel = tc.logLevel
		cl, err := cometLoggerFor(h, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cons, p2p := cl.With("module", "consensus"), cl.With("module", "p2p")
		cons.Debug("consensus debug")
		cons.Info("consensus info", "dur", "1s")
		cons.Error("consensus error")
		p2p.Info("p2p info")
		sat := slog.New(atLeast{h, slog.LevelWarn})
		sat.Info("satnode info")
		sat.Warn("satnode warn")
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			_, msg, _ := strings.Cut(line, `msg="`)
			msg, _, _ = strings.Cut(msg, `"`)
			got = append(got, msg)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("log_level %q: wrote %q, want %q", tc.logLevel, got, tc.want)
		}
	}
	cfg := cmtcfg.DefaultConfig()
	cfg.LogLevel = "warn" // CometBFT has no warn level
	if _, err := cometLoggerFor(newHandler(&bytes.Buffer{}, ""), cfg); err == nil {
		t.Error(`log_level "warn" accepted`)
	}

	home, _ := initFast(t)
	path := filepath.Join(home, "config", "config.toml")
	raw, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(raw, []byte(`log_level = "error"`)) {
		t.Fatalf("init's config.toml lacks log_level = \"error\" (%v)", err)
	}
	raw = bytes.Replace(raw, []byte(`log_level = "error"`), nil, 1)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadCometConfig(home); err != nil || cfg.LogLevel != DefaultCometLogLevel {
		t.Fatalf("config.toml without log_level: %q, %v", cfg.LogLevel, err)
	}
}

// TestReadableBytes: byte slices and arrays are written as their String()
// or as hex, in both formats, never as raw bytes, base64 or a list of
// numbers; CometBFT's validator address among them.
func TestReadableBytes(t *testing.T) {
	pub := ed25519.GenPrivKey().PubKey()
	addr := pub.Address() // cmtbytes.HexBytes, as CometBFT's "This node is a validator" logs it
	hash := chainhash.Hash{1, 2, 3}
	attrs := []any{"addr", addr, "pubKey", pub, "raw", []byte{0xde, 0xad}, "arr", [2]byte{0xbe, 0xef},
		"hash", hash, "text", "plain", "n", 7}
	want := map[string]string{"addr": addr.String(), "pubKey": pub.(ed25519.PubKey).String(), "raw": "dead", "arr": "beef",
		"hash": hash.String(), "text": "plain"}
	if _, ok := any(addr).(cmtbytes.HexBytes); !ok {
		t.Fatalf("the address is a %T", addr)
	}

	var text bytes.Buffer
	cometLogger{slog.New(newHandler(&text, cmtcfg.LogFormatPlain))}.Info("This node is a validator", attrs...)
	for k, v := range want {
		if !strings.Contains(text.String(), " "+k+"="+v) {
			t.Errorf("plain: %s is not %s in %s", k, v, text.String())
		}
	}
	if strings.Contains(text.String(), `\x`) {
		t.Errorf("plain: raw bytes in %s", text.String())
	}

	var js bytes.Buffer
	slog.New(newHandler(&js, cmtcfg.LogFormatJSON)).Info("m", attrs...)
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("json: %s = %v, want %s", k, got[k], v)
		}
	}
	if got["n"] != float64(7) {
		t.Errorf("json: n = %v", got["n"])
	}
}
