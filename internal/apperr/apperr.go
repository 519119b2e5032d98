package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error; each kind maps to one HTTP status.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthorized
	KindForbidden
	KindNotFound
	KindConflict
	KindTooLarge
	KindRateLimited
	KindUnavailable
	KindPaymentRequired
	KindUnprocessable
	KindMethodNotAllowed
	KindUpgradeRequired
	KindGone
	KindBadGateway
)

// Stable codes shared by several packages. Packages may use their own more
// specific codes (for example "duplicate_hostname"); a code, once published,
// never changes meaning.
const (
	CodeInternal         = "internal"
	CodeInvalidRequest   = "invalid_request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodePayloadTooLarge  = "payload_too_large"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeMethodNotAllowed = "method_not_allowed"
)

// Error is a failure a caller can act on.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// RetryAfter is set on rate-limit errors; it becomes the Retry-After header.
	RetryAfter time.Duration
	// Details are figures a client may act on, rendered as the envelope's
	// details (for example required_minor, balance_minor, currency).
	Details map[string]any
	// Err is the underlying cause, kept for logs and errors.Is; never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// IsKind reports whether err carries an *Error of kind k.
func IsKind(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}

// HasCode reports whether err carries an *Error with the given code.
func HasCode(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}

func newf(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a request the caller got wrong (400).
func Invalid(format string, args ...any) *Error {
	return newf(KindInvalid, CodeInvalidRequest, format, args...)
}

// InvalidCode is Invalid with a more specific code.
func InvalidCode(code, format string, args ...any) *Error {
	return newf(KindInvalid, code, format, args...)
}

// Unauthorized means the caller is not authenticated (401).
func Unauthorized(code, format string, args ...any) *Error {
	if code == "" {
		code = CodeUnauthorized
	}
	return newf(KindUnauthorized, code, format, args...)
}

// Forbidden means the caller is authenticated but may not do this (403).
func Forbidden(format string, args ...any) *Error {
	return newf(KindForbidden, CodeForbidden, format, args...)
}

// ForbiddenCode is Forbidden with a more specific code, for a caller who
// may not act at all (account_suspended), not only lacks a role.
func ForbiddenCode(code, format string, args ...any) *Error {
	return newf(KindForbidden, code, format, args...)
}

// Gone means the thing named existed but can no longer be used: a spent or
// expired one-time link (410).
func Gone(code, format string, args ...any) *Error {
	return newf(KindGone, code, format, args...)
}

// NotFound means the resource does not exist or is not the caller's (404).
func NotFound(what string) *Error {
	return newf(KindNotFound, CodeNotFound, "%s not found", what)
}

// Conflict means the request clashes with current state (409).
func Conflict(code, format string, args ...any) *Error {
	if code == "" {
		code = CodeConflict
	}
	return newf(KindConflict, code, format, args...)
}

// TooLarge means the body exceeds the configured limit (413).
func TooLarge(limit int64) *Error {
	return newf(KindTooLarge, CodePayloadTooLarge, "request body exceeds %d bytes", limit)
}

// RateLimited means the caller must wait (429).
func RateLimited(retryAfter time.Duration, format string, args ...any) *Error {
	e := newf(KindRateLimited, CodeRateLimited, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// Unavailable means a dependency is down (503).
func Unavailable(format string, args ...any) *Error {
	return newf(KindUnavailable, CodeUnavailable, format, args...)
}

// BadGateway means something behind the platform (a workload's app) did
// not answer (502).
func BadGateway(code, format string, args ...any) *Error {
	return newf(KindBadGateway, code, format, args...)
}

// Wrap attaches a cause to e and returns it.
func (e *Error) Wrap(err error) *Error {
	e.Err = err
	return e
}
