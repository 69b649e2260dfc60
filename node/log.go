package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// NewLogger returns the slog logger a node writes to w: satnode's minimum
// level from app.toml, and the format of config.toml's log_format ("json"
// or "plain", which is slog's key=value text), so that one node writes one
// format.
func NewLogger(w io.Writer, level slog.Level, cometFormat string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if cometFormat == cmtcfg.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cometLogger adapts a slog.Logger to CometBFT's log.Logger, so that
// CometBFT's lines and satnode's go through one handler (one format, one
// writer, no interleaving within a line).
type cometLogger struct{ l *slog.Logger }

func (c cometLogger) Debug(msg string, kv ...any) { c.log(slog.LevelDebug, msg, kv) }
func (c cometLogger) Info(msg string, kv ...any)  { c.log(slog.LevelInfo, msg, kv) }
func (c cometLogger) Error(msg string, kv ...any) { c.log(slog.LevelError, msg, kv) }

func (c cometLogger) With(kv ...any) cmtlog.Logger { return cometLogger{c.l.With(fixKV(kv)...)} }

func (c cometLogger) log(lvl slog.Level, msg string, kv []any) {
	// Enabled first: CometBFT logs at debug level in hot loops, and
	// building the record is the expensive part.
	if !c.l.Enabled(context.Background(), lvl) {
		return
	}
	c.l.Log(context.Background(), lvl, msg, fixKV(kv)...)
}

// fixKV makes CometBFT's key-value pairs slog's: keys must be strings (slog
// would log a non-string key as "!BADKEY"), a lone trailing key gets an
// empty value, and CometBFT's "msg" key, which would print beside slog's
// own msg, is renamed "detail".
func fixKV(kv []any) []any {
	out := make([]any, 0, len(kv)+1)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			k = fmt.Sprint(kv[i])
		}
		if k == slog.MessageKey {
			k = "detail"
		}
		var v any = ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		out = append(out, k, v)
	}
	return out
}

// cometLoggerFor returns CometBFT's logger: the slog logger behind the
// per-module filter of config.toml's log_level ("info",
// "consensus:debug,*:error", ...).
func cometLoggerFor(l *slog.Logger, cfg *cmtcfg.Config) (cmtlog.Logger, error) {
	lg, err := cmtflags.ParseLogLevel(cfg.LogLevel, cometLogger{l}, cmtcfg.DefaultLogLevel)
	if err != nil {
		return nil, fmt.Errorf("%w: config.toml log_level: %v", ErrConfig, err)
	}
	return lg, nil
}
