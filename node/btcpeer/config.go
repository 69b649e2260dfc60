package btcpeer

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// Config configures a Pool.
type Config struct {
	// Addrs are the Bitcoin nodes to ask, as "host:port" (a host name, an
	// IPv4 address or a bracketed IPv6 address), in the order they are
	// asked. Required, no duplicates.
	Addrs []string
	// Params is the network: its magic is in every message and the
	// handshake fails against a node of another network. Required.
	Params *chaincfg.Params
	// Logger receives connection events and peer faults (optional).
	Logger *slog.Logger
	// DialTimeout bounds the TCP connect and the version handshake
	// together (default 10 s). The peer package gives up on a handshake
	// after 30 s whatever this says.
	DialTimeout time.Duration
	// RequestTimeout bounds one peer's answer to one getdata (default
	// 30 s: a 4 MB block over a slow link).
	RequestTimeout time.Duration
	// MaxBlockBytes refuses larger blocks (default and most:
	// wire.MaxBlockPayload, the largest block message the wire package
	// reads).
	MaxBlockBytes int
	// Backoff is how long a peer is left alone after a failure; it doubles
	// with every further failure, up to MaxBackoff, and is reset by the
	// peer's next answer (defaults 1 s and 5 min).
	Backoff, MaxBackoff time.Duration
	// UserAgentVersion follows "satnode" in the user agent (optional):
	// "/btcwire:0.5.0/satnode:<UserAgentVersion>/", as btcd's peer package
	// builds it.
	UserAgentVersion string
}

// Defaults of the optional fields.
const (
	DefaultDialTimeout    = 10 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultBackoff        = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
)

// UserAgent is the user agent name the pool advertises, after the wire
// package's wire.DefaultUserAgent.
const UserAgent = "satnode"

// withDefaults validates c and returns it with the defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if len(c.Addrs) == 0 {
		return c, fmt.Errorf("%w: no addresses", ErrConfig)
	}
	seen := make(map[string]bool, len(c.Addrs))
	for i, a := range c.Addrs {
		if err := CheckAddr(a); err != nil {
			return c, fmt.Errorf("addrs[%d]: %w", i, err)
		}
		if seen[a] {
			return c, fmt.Errorf("%w: addrs[%d] = %q is listed twice", ErrConfig, i, a)
		}
		seen[a] = true
	}
	if c.Params == nil {
		return c, fmt.Errorf("%w: no network parameters", ErrConfig)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"DialTimeout", &c.DialTimeout, DefaultDialTimeout}, {"RequestTimeout", &c.RequestTimeout, DefaultRequestTimeout},
		{"Backoff", &c.Backoff, DefaultBackoff}, {"MaxBackoff", &c.MaxBackoff, DefaultMaxBackoff}} {
		if *d.v < 0 {
			return c, fmt.Errorf("%w: %s = %v", ErrConfig, d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.MaxBlockBytes < 0 || c.MaxBlockBytes > wire.MaxBlockPayload {
		return c, fmt.Errorf("%w: MaxBlockBytes = %d, want 0 (default) ..%d", ErrConfig, c.MaxBlockBytes, wire.MaxBlockPayload)
	}
	if c.MaxBlockBytes == 0 {
		c.MaxBlockBytes = wire.MaxBlockPayload
	}
	if ua := wire.DefaultUserAgent + UserAgent + ":" + c.UserAgentVersion + "/"; len(ua) > wire.MaxUserAgentLen ||
		strings.ContainsAny(c.UserAgentVersion, "/:()") {
		// BIP 14 reserves these characters. The length is checked here
		// because the peer package ignores MsgVersion.AddUserAgent's
		// error: it would advertise "/btcwire:0.5.0/" alone.
		return c, fmt.Errorf("%w: UserAgentVersion = %q", ErrConfig, c.UserAgentVersion)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// CheckAddr reports whether addr is "host:port" with a non-empty host and
// a port in 1..65535. The host is not resolved: that happens at each dial.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q: %v (want host:port)", ErrConfig, addr, err)
	}
	if host == "" {
		return fmt.Errorf("%w: %q: no host (want host:port)", ErrConfig, addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%w: %q: port %q, want 1..65535", ErrConfig, addr, port)
	}
	return nil
}
