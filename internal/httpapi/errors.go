package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// envelope is the one error shape every route returns.
type envelope struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlation_id"`
	// Details carries the figures behind an error (amounts, limits), so
	// clients need not parse the message.
	Details map[string]any `json:"details,omitempty"`
}

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:         http.StatusInternalServerError,
	apperr.KindInvalid:          http.StatusBadRequest,
	apperr.KindUnauthorized:     http.StatusUnauthorized,
	apperr.KindForbidden:        http.StatusForbidden,
	apperr.KindNotFound:         http.StatusNotFound,
	apperr.KindConflict:         http.StatusConflict,
	apperr.KindTooLarge:         http.StatusRequestEntityTooLarge,
	apperr.KindRateLimited:      http.StatusTooManyRequests,
	apperr.KindUnavailable:      http.StatusServiceUnavailable,
	apperr.KindPaymentRequired:  http.StatusPaymentRequired,
	apperr.KindUnprocessable:    http.StatusUnprocessableEntity,
	apperr.KindMethodNotAllowed: http.StatusMethodNotAllowed,
	apperr.KindUpgradeRequired:  http.StatusUpgradeRequired,
	apperr.KindGone:             http.StatusGone,
	apperr.KindBadGateway:       http.StatusBadGateway,
}

// StatusOf is the HTTP status for err.
func StatusOf(err error) int {
	if e, ok := apperr.As(err); ok {
		if s, ok := kindStatus[e.Kind]; ok {
			return s
		}
	}
	return http.StatusInternalServerError
}

// WriteError renders err as the JSON envelope. An error that is not an
// *apperr.Error is internal: it is logged with the correlation id and the
// caller sees only "internal".
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	id := reqctx.RequestID(r.Context())
	if dependencyDown(err) {
		err = apperr.Unavailable("a dependency is unavailable; try again shortly").Wrap(err)
	}
	env := envelope{Code: apperr.CodeInternal, Message: "internal error", CorrelationID: id}
	status := StatusOf(err)
	if e, ok := apperr.As(err); ok && e.Kind != apperr.KindInternal {
		env.Code, env.Message, env.Details = e.Code, e.Message, e.Details
		if e.RetryAfter > 0 {
			secs := int((e.RetryAfter + 999_999_999) / 1_000_000_000)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		if status == http.StatusServiceUnavailable && e.Err != nil {
			slog.WarnContext(r.Context(), "dependency unavailable", "correlation_id", id, "err", e.Err)
		}
	} else {
		slog.ErrorContext(r.Context(), "internal error", "correlation_id", id,
			"method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, env)
}

// dependencyDown reports whether err says a backing service could not be
// reached, which is the operator's problem and worth a retry (503), not a
// bug (500).
func dependencyDown(err error) bool {
	if _, ok := apperr.As(err); ok {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	// Postgres going away mid-request: a restart or failover terminates
	// sessions (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
	// cannot_connect_now), or the connection broke (class 08).
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "08")) {
		return true
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"code":"internal","message":"internal error","correlation_id":""}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n')) //nolint:errcheck // the client went away
}
