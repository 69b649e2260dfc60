package btcnode

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is; the concrete errors returned
// carry the method, code and message.
var (
	// ErrNotFound: the node does not have what was asked for: a height above
	// its tip, a block or header hash it does not know. Bitcoin Core and
	// btcd report this with different codes; RPCError.Is maps them.
	ErrNotFound = errors.New("btcnode: not found")

	// ErrUnauthorized: the node refused the credentials (HTTP 401), also
	// after re-reading the cookie file.
	ErrUnauthorized = errors.New("btcnode: RPC credentials refused")
)

// JSON-RPC error codes the client acts on. Bitcoin Core's are in
// src/rpc/protocol.h, btcd's in btcjson/jsonrpcerr.go; the two agree on these
// numbers but not on which one a given "not found" uses (see RPCError.Is).
const (
	CodeMisc                 = -1  // RPC_MISC_ERROR; btcd's ErrRPCOutOfRange for getblockhash
	CodeInvalidAddressOrKey  = -5  // RPC_INVALID_ADDRESS_OR_KEY: "Block not found" in both
	CodeInvalidParameter     = -8  // RPC_INVALID_PARAMETER: Core's "Block height out of range"
	CodeInWarmup             = -28 // RPC_IN_WARMUP: Core is still loading; worth retrying
	CodeMethodNotFound       = -32601
	CodeInvalidRequest       = -32600 // btcd also uses it for any handler error that is not an RPC error
	CodeDeserializationError = -22
)

// RPCError is an error the node returned in a JSON-RPC reply.
type RPCError struct {
	Code    int
	Message string
	Method  string // the method called, so that Is can tell what "not found" means
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("btcnode: %s: RPC error %d: %s", e.Method, e.Code, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) true for the replies by which Core and
// btcd say that a height or a block does not exist. The code alone is not
// enough: btcd answers an out-of-range getblockhash with -1, its generic
// "miscellaneous" code, so -1 counts only with that message and method.
func (e *RPCError) Is(target error) bool {
	return target == ErrNotFound && e.notFound()
}

func (e *RPCError) notFound() bool {
	msg := strings.ToLower(e.Message)
	switch e.Method {
	case "getblockhash":
		// Core: -8 "Block height out of range"; btcd: -1 "Block number out
		// of range".
		return e.Code == CodeInvalidParameter ||
			(e.Code == CodeMisc && strings.Contains(msg, "out of range"))
	case "getblock", "getblockheader":
		// Both: -5 "Block not found". Core's pruned "Block not available"
		// is -1 and is deliberately not ErrNotFound: the block exists.
		return e.Code == CodeInvalidAddressOrKey
	}
	// Elsewhere -5 also means an invalid address or key, so the message
	// decides (Core: "No such mempool or blockchain transaction").
	return e.Code == CodeInvalidAddressOrKey &&
		(strings.Contains(msg, "not found") || strings.Contains(msg, "no such"))
}

// retryable reports whether the error is Core's "still starting" reply.
func (e *RPCError) retryable() bool { return e.Code == CodeInWarmup }

// HTTPError is a reply that is not a JSON-RPC reply: an HTTP error status
// with a body that is not a JSON-RPC error object (for example Core's 503
// "Work queue depth exceeded", a 403 from rpcallowip, or a proxy's 502).
type HTTPError struct {
	Method string
	Status int
	Body   string // the start of the body, for the message
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("btcnode: %s: HTTP %d", e.Method, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is makes errors.Is(err, ErrUnauthorized) true for HTTP 401.
func (e *HTTPError) Is(target error) bool {
	return target == ErrUnauthorized && e.Status == 401
}

// retryable: a 5xx without a JSON-RPC error is the server (or something in
// front of it) failing, not the request being wrong.
func (e *HTTPError) retryable() bool { return e.Status >= 500 }

// TransportError is a request that got no HTTP reply: the connection was
// refused or reset, or the per-request timeout expired. It is retried.
type TransportError struct {
	Method string
	Err    error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("btcnode: %s: %v", e.Method, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

func (e *TransportError) retryable() bool { return true }

// ResponseError is a reply that is well-formed HTTP but not what was asked
// for: invalid JSON, a result of the wrong type, a hash that does not parse,
// a header or block whose bytes do not hash to the requested hash. It is not
// retried: a node that sends such a reply will send it again.
type ResponseError struct {
	Method string
	Reason string
	Err    error // underlying decode error, if any
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("btcnode: %s: bad response: %s", e.Method, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ResponseError) Unwrap() error { return e.Err }

// RetryError is returned when every attempt failed with a retryable error;
// Err is the last one.
type RetryError struct {
	Method   string
	Attempts int
	Err      error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("btcnode: %s: giving up after %d attempts: %v", e.Method, e.Attempts, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// CookieError is a cookie file that cannot be read or parsed. It is
// retried: Core deletes the cookie when it stops and writes a new one when
// it starts, so a missing cookie usually means a restart in progress.
type CookieError struct {
	Path string
	Err  error
}

func (e *CookieError) Error() string {
	return fmt.Sprintf("btcnode: cookie file %s: %v", e.Path, e.Err)
}

func (e *CookieError) Unwrap() error { return e.Err }

func (e *CookieError) retryable() bool { return true }

// ConfigError is a Config that cannot work.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("btcnode: config %s: %s", e.Field, e.Reason)
}
