package node

import (
	"context"
	"encoding"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"reflect"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// DefaultCometLogLevel is config.toml's log_level in the homes satnode
// writes, and when the key is absent: CometBFT's errors only. CometBFT
// logs at three levels, debug, info and error (it has no warn); at info a
// node writes about eight lines per block (proposal, execution, commit,
// indexing, the round's "Timed out"), which bury satnode's own. An
// operator who wants them back sets log_level as CometBFT documents it:
// "info", or per module, "consensus:info,p2p:debug" (modules not named
// stay at this level).
const DefaultCometLogLevel = "error"

// newHandler is the one slog handler a node writes its log through:
// config.toml's log_format ("json" or "plain", which is slog's key=value
// text), so that one node writes one format, and every line a level
// filter let through (satnode's [log] level, CometBFT's log_level).
func newHandler(w io.Writer, cometFormat string) slog.Handler {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: readableBytes}
	if cometFormat == cmtcfg.LogFormatJSON {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// atLeast passes on the records at level and above: satnode's logger is
// the node's handler behind app.toml's [log] level.
type atLeast struct {
	h     slog.Handler
	level slog.Level
}

func (a atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= a.level && a.h.Enabled(ctx, l)
}
func (a atLeast) Handle(ctx context.Context, r slog.Record) error { return a.h.Handle(ctx, r) }
func (a atLeast) WithAttrs(as []slog.Attr) slog.Handler           { return atLeast{a.h.WithAttrs(as), a.level} }
func (a atLeast) WithGroup(name string) slog.Handler              { return atLeast{a.h.WithGroup(name), a.level} }

// readableBytes writes a byte slice or array, which slog's text handler
// would print as raw bytes ("\x1cZ\x81_...") and its JSON handler as
// base64 or a list of numbers, as its String() if it has one (CometBFT's
// addresses and keys, chain hashes, satnode addresses), else as hex. A
// value that marshals itself as text is left to the handler.
func readableBytes(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	v := a.Value.Any()
	if _, ok := v.(encoding.TextMarshaler); ok || v == nil {
		return a
	}
	rv := reflect.ValueOf(v)
	if (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() != reflect.Uint8 {
		return a
	}
	if s, ok := v.(fmt.Stringer); ok {
		a.Value = slog.StringValue(s.String())
		return a
	}
	b := make([]byte, rv.Len())
	for i := range b {
		b[i] = byte(rv.Index(i).Uint())
	}
	a.Value = slog.StringValue(hex.EncodeToString(b))
	return a
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
	// Enabled first: building the record is the expensive part.
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

// cometLoggerFor returns CometBFT's logger: h behind the per-module filter
// of config.toml's log_level ("error", "info", "consensus:info,*:error",
// ...), and that filter only: app.toml's [log] level is satnode's own
// lines'. Modules log_level does not name are at DefaultCometLogLevel.
// CometBFT logs in hot loops at debug; the filter drops those calls
// before any record is built.
func cometLoggerFor(h slog.Handler, cfg *cmtcfg.Config) (cmtlog.Logger, error) {
	lg, err := cmtflags.ParseLogLevel(cfg.LogLevel, cometLogger{slog.New(h)}, DefaultCometLogLevel)
	if err != nil {
		return nil, fmt.Errorf("%w: config.toml log_level: %v", ErrConfig, err)
	}
	return lg, nil
}
