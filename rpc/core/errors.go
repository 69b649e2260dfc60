package core

import (
	"fmt"
	"net/http"
)

// Bitcoin Core's error codes (src/rpc/protocol.h) that this dialect uses.
const (
	CodeMisc             = -1  // RPC_MISC_ERROR: Core's catch-all, also what a wrong argument count or a bad integer gives
	CodeType             = -3  // RPC_TYPE_ERROR: an argument of the wrong JSON type
	CodeInvalidAddrOrKey = -5  // RPC_INVALID_ADDRESS_OR_KEY: unknown block, bad descriptor
	CodeReplyTooLarge    = -7  // RPC_OUT_OF_MEMORY: the reply would pass Options.MaxReplyBytes
	CodeInvalidParameter = -8  // RPC_INVALID_PARAMETER
	CodeInWarmup         = -28 // RPC_IN_WARMUP: nothing committed yet
	CodeInvalidRequest   = -32600
	CodeMethodNotFound   = -32601
	CodeInternal         = -32603
	CodeParse            = -32700
)

// Error is a JSON-RPC error object: one of Core's codes and a message.
// Every failure a method reports to the client is an *Error; anything else
// (a store that cannot be read) is turned into CodeInternal and logged.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

func rpcErr(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// httpStatus is Core's JSONErrorReply mapping, used for legacy (1.0)
// requests and for requests too broken to have a version: the JSON-RPC
// 2.0 replies to calls that failed while executing are 200 instead.
func httpStatus(code int) int {
	switch code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeMethodNotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// Errors shared by several methods, in Core's words.
var (
	errBlockNotFound = &Error{Code: CodeInvalidAddrOrKey, Message: "Block not found"}
	errHeightRange   = &Error{Code: CodeInvalidParameter, Message: "Block height out of range"}
	errIntRange      = &Error{Code: CodeMisc, Message: "JSON integer out of range"}
	errNoState       = &Error{Code: CodeInWarmup, Message: "Loading state: satnode has not committed any Bitcoin state yet"}
)

// replyTooLarge is the error for a result that does not fit in
// Options.MaxReplyBytes (notRun: a later call of the same batch, refused
// without running). It names the node's setting, max_reply_kb, so that an
// operator knows what to raise and a client what to split.
func (s *server) replyTooLarge(notRun bool) *Error {
	if notRun {
		return rpcErr(CodeReplyTooLarge,
			"Reply exceeds %d bytes (max_reply_kb): an earlier call of this batch filled it, so this one was not run; send it again in a smaller batch",
			s.opts.MaxReplyBytes)
	}
	return rpcErr(CodeReplyTooLarge,
		"Reply exceeds %d bytes (max_reply_kb): ask for less in one call (fewer scan objects) or split the batch",
		s.opts.MaxReplyBytes)
}
