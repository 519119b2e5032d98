package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is a non-2xx answer from the API. Code is the envelope's stable
// code; when the body was not the JSON envelope (a proxy's HTML page, say),
// Code is derived from the status and Message holds the start of the body.
type Error struct {
	Status        int
	Code          string
	Message       string
	CorrelationID string
	// RetryAfter is the Retry-After header of a 429 or 503, zero when absent.
	RetryAfter time.Duration
	// Details are the envelope's figures behind the error (details.field
	// for an invalid input, the counts of a region_in_use), nil when none.
	Details map[string]any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d)", e.Code, e.Status)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.CorrelationID != "" {
		b.WriteString(" [correlation id " + e.CorrelationID + "]")
	}
	return b.String()
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// HasCode reports whether err is an API error with the given code.
func HasCode(err error, code string) bool {
	e, ok := AsError(err)
	return ok && e.Code == code
}

// StatusOf is the HTTP status of an API error, 0 for any other error.
func StatusOf(err error) int {
	if e, ok := AsError(err); ok {
		return e.Status
	}
	return 0
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// parseError turns a non-2xx response into an *Error. It never fails: a
// body that is not the envelope still gives a usable error.
func parseError(resp *http.Response) *Error {
	e := &Error{
		Status:        resp.StatusCode,
		CorrelationID: resp.Header.Get("X-Request-ID"),
		RetryAfter:    parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env struct {
		Code          string         `json:"code"`
		Message       string         `json:"message"`
		CorrelationID string         `json:"correlation_id"`
		Details       map[string]any `json:"details"`
	}
	if err := json.Unmarshal(body, &env); err == nil && env.Code != "" {
		e.Code, e.Message, e.Details = env.Code, env.Message, env.Details
		if env.CorrelationID != "" {
			e.CorrelationID = env.CorrelationID
		}
		return e
	}
	e.Code = codeForStatus(resp.StatusCode)
	e.Message = snippet(body)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// codeForStatus mirrors the server's stable codes for a bare status.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "http_" + strconv.Itoa(status)
}

// snippet is the start of a non-envelope body, one line, valid UTF-8.
func snippet(body []byte) string {
	const max = 200
	s := strings.ToValidUTF8(string(body), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
