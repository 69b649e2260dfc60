package native

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error: the HTTP status it is answered with and the
// message in the {"error", "code"} body. Handlers return it so that the
// status is decided where the cause is known, not guessed from text.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// badRequest, notFound: the statuses a caller's input can cause.
func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, format, args...)
}
func notFound(format string, args ...any) *Error { return errorf(http.StatusNotFound, format, args...) }

// statusOf maps any error to its API error; anything not already an
// *Error is the server's fault.
func statusOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errorf(http.StatusInternalServerError, "internal error: %v", err)
}

// ErrClosed: the handler was closed (server shutdown); the stream refuses
// new connections with 503.
var ErrClosed = errors.New("native: handler closed")

// errTooMany describes a subscribe that would exceed the limit.
func errTooMany(have, adding, limit int) string {
	return fmt.Sprintf("too many subscriptions: %d followed + %d new > limit %d", have, adding, limit)
}
