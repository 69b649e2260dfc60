package btcnode

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultRetries    = 5
	DefaultBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Config says how to reach a node's JSON-RPC server.
type Config struct {
	// URL is the RPC endpoint: "http://127.0.0.1:8332", or just
	// "127.0.0.1:8332", in which case the scheme is https when TLSCertFile
	// is set and http otherwise. Required.
	URL string

	// User and Password are rpcuser/rpcpassword (Core) or
	// rpcuser/rpcpass (btcd). Optional; exclusive with CookieFile.
	User     string
	Password string

	// CookieFile is Bitcoin Core's <datadir>/.cookie ("user:password"),
	// written at each start with a fresh password. It is read at the first
	// request and again whenever the node answers 401, so a client outlives
	// node restarts. Optional; exclusive with User and Password.
	CookieFile string

	// TLSCertFile is a PEM certificate to trust for https, such as btcd's
	// rpc.cert (self-signed). Optional: when empty the connection is plain
	// http unless URL says https (then the system roots are used).
	TLSCertFile string

	// Timeout bounds each HTTP request, not the whole call with its
	// retries; the caller's context bounds that. Default 10s. A getblock of
	// a 4 MB block is 8 MB of hex, so keep it generous on slow links.
	Timeout time.Duration

	// Retries is how many times a failed request is repeated after the
	// first attempt, for transport errors, HTTP 5xx without a JSON-RPC
	// error, and RPC error -28 (warming up). Default 5; negative means
	// none. Ordinary RPC errors are never retried.
	Retries int

	// Backoff is the wait before the first retry, doubled before each
	// further one up to MaxBackoff. Defaults 200ms and 5s.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	return c
}

// Validate checks the fields that do not need I/O.
func (c Config) Validate() error {
	if c.URL == "" {
		return &ConfigError{"URL", "required"}
	}
	if c.CookieFile != "" && (c.User != "" || c.Password != "") {
		return &ConfigError{"CookieFile", "set together with User/Password; use one or the other"}
	}
	if c.Timeout < 0 {
		return &ConfigError{"Timeout", "negative"}
	}
	if c.Backoff < 0 || c.MaxBackoff < 0 {
		return &ConfigError{"Backoff", "negative"}
	}
	_, err := c.endpoint()
	return err
}

// endpoint turns URL into an absolute http(s) URL.
func (c Config) endpoint() (*url.URL, error) {
	raw := c.URL
	if !strings.Contains(raw, "://") {
		scheme := "http://"
		if c.TLSCertFile != "" {
			scheme = "https://"
		}
		raw = scheme + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &ConfigError{"URL", err.Error()}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &ConfigError{"URL", "scheme must be http or https, not " + u.Scheme}
	case u.Host == "":
		return nil, &ConfigError{"URL", "no host in " + c.URL}
	case u.User != nil:
		// Credentials in the URL would end up in error messages and logs.
		return nil, &ConfigError{"URL", "must not contain credentials; use User/Password or CookieFile"}
	case c.TLSCertFile != "" && u.Scheme != "https":
		return nil, &ConfigError{"TLSCertFile", "set for a plain http URL"}
	}
	return u, nil
}

// tlsConfig loads TLSCertFile into a pool of its own: btcd's rpc.cert is
// self-signed and should be the only certificate trusted for that node.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCertFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.TLSCertFile)
	if err != nil {
		return nil, &ConfigError{"TLSCertFile", err.Error()}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &ConfigError{"TLSCertFile", "no PEM certificate in " + c.TLSCertFile}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
