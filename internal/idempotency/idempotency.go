package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Replays counts requests answered from a stored response. It is
// registered on the server's registry (RegisterMetrics).
var Replays = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "gpuaas_idempotency_replays_total",
	Help: "Requests answered with the stored response of an earlier one with the same Idempotency-Key.",
})

// RegisterMetrics puts the package's series on reg (once per registry).
func RegisterMetrics(reg prometheus.Registerer) { prom.Register(reg, Replays) }

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// CodeMismatch is the error code of a key reused with another request.
const CodeMismatch = "idempotency_key_mismatch"

// MaxKeyLen bounds a key.
const MaxKeyLen = 255

var printable = regexp.MustCompile(`^[\x21-\x7e]+$`)

// Request identifies one idempotent call.
type Request struct {
	UserID uuid.UUID
	Key    string // "" when the caller sent none
	Route  string // e.g. "POST /api/v1/allocations"
	Body   []byte // the raw request body
}

// Validate checks the key's shape.
func (r Request) Validate() error {
	if r.Key == "" {
		return nil
	}
	if len(r.Key) > MaxKeyLen || !printable.MatchString(r.Key) {
		return apperr.Invalid("%s must be 1 to %d printable ASCII characters", Header, MaxKeyLen)
	}
	return nil
}

// hash binds the key to the route and the body's meaning: the body is
// compacted first, so whitespace alone does not make a different request.
func (r Request) hash() []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, r.Body); err != nil {
		buf.Reset()
		buf.Write(r.Body)
	}
	h := sha256.New()
	h.Write([]byte(r.Route))
	h.Write([]byte{0})
	h.Write(buf.Bytes())
	return h.Sum(nil)
}

// Response is what a call answered.
type Response struct {
	Status int
	Body   []byte
	// Replayed is true when Body comes from the store, not from fn.
	Replayed bool
}

// Run executes fn in a transaction and returns its response. With a key,
// a stored response is replayed without fn's work taking effect, and a new
// response is stored (redacted) in fn's transaction. An error from fn rolls
// everything back and stores nothing, so the caller may retry with the same
// key.
//
// The key is read in front of fn's first statement, in the same round
// trip (Store.Ahead): a request costs no round trip of its own for the
// check. When the key is there, the transaction stops at that first
// statement and the stored response is replayed; when fn fails before it
// sent anything (a body it refuses), the key is read on its own, so a
// retry is replayed whatever fn would say now.
//
// Requests with the same key are settled by the key's row, not a lock
// taken up front: one that finds no key runs fn and inserts its response
// with the COMMIT (Store.Later); the insert waits for any concurrent
// request with the key to end. When that one committed first, the insert
// is a unique violation, this transaction rolls back, fn's work with it,
// and the stored response is replayed. So a retried request never applies
// twice, and the common case costs an insert that rides on the COMMIT.
//
// fn must do all its work through tx and nothing outside it (a racing
// duplicate may run fn and be rolled back). A call through another store,
// or a nested InTx on one, takes a second pool connection inside this
// transaction, and enough concurrent requests then deadlock the pool.
func Run(ctx context.Context, st *store.Store, req Request, fn func(tx *store.Store) (status int, body []byte, err error)) (Response, error) {
	if err := req.Validate(); err != nil {
		return Response{}, err
	}
	var resp Response
	hash := req.hash()
	key := db.GetIdempotencyKeyParams{UserID: req.UserID, Key: req.Key}
	// Set by the queued read, which InTx has waited for when it returns.
	var prev db.IdempotencyKey
	var found, checked bool
	err := st.InTx(ctx, func(tx *store.Store) error {
		if req.Key == "" {
			status, body, err := fn(tx)
			resp = Response{Status: status, Body: body}
			return err
		}
		err := tx.Ahead(ctx, func(q *db.Queries) error {
			p, err := q.GetIdempotencyKey(ctx, key)
			if err != nil && !store.IsNoRows(err) {
				return fmt.Errorf("read idempotency key: %w", err)
			}
			checked = true
			if err != nil {
				return nil // a new key: go on
			}
			prev, found = p, true
			return errAnswered
		})
		if err != nil {
			return err
		}
		status, body, err := fn(tx)
		if err != nil {
			return err
		}
		resp = Response{Status: status, Body: body}
		// The key goes with the COMMIT; a request with the same key that
		// committed first makes it a unique violation (below).
		return tx.Later().InsertIdempotencyKey(ctx, db.InsertIdempotencyKeyParams{
			UserID: req.UserID, Key: req.Key, Route: req.Route, RequestHash: hash,
			Status: int32(status), ResponseBody: Redact(body),
		})
	})
	lostRace := store.IsUniqueViolation(err, "idempotency_keys_pkey")
	switch {
	case found:
		// fn stopped at its first statement, whatever error it made of
		// that.
		return replay(req, hash, prev)
	case err == nil || req.Key == "":
		return resp, err
	case checked && !lostRace:
		return Response{}, err // fn's own failure: nothing was stored
	}
	// A request with the key committed first, or fn failed before the key
	// was read: what is stored, if anything, is the answer.
	p, rerr := st.GetIdempotencyKey(ctx, key)
	switch {
	case rerr == nil:
		return replay(req, hash, p)
	case store.IsNoRows(rerr) && !lostRace:
		return Response{}, err
	default:
		return Response{}, fmt.Errorf("read idempotency key after a concurrent request: %w", rerr)
	}
}

// errAnswered stops a transaction whose key has a stored response.
var errAnswered = errors.New("idempotency: the key has a stored response")

// replay answers req from the stored prev, or refuses a different request
// under the same key.
func replay(req Request, hash []byte, prev db.IdempotencyKey) (Response, error) {
	if prev.Route != req.Route || !bytes.Equal(prev.RequestHash, hash) {
		return Response{}, &apperr.Error{Kind: apperr.KindUnprocessable, Code: CodeMismatch,
			Message: "this Idempotency-Key was used with a different request"}
	}
	Replays.Inc()
	return Response{Status: int(prev.Status), Body: prev.ResponseBody, Replayed: true}, nil
}

// Cleanup deletes keys older than keep (at least 24 h is promised).
func Cleanup(ctx context.Context, st *store.Store, keepHours int) (int64, error) {
	return st.DeleteOldIdempotencyKeys(ctx, pgtype.Interval{Microseconds: int64(keepHours) * 3600e6, Valid: true})
}

// sensitiveWords are the words a field name containing one is redacted for.
var sensitiveWords = []string{"password", "secret", "token", "private_key", "authorization"}

// sensitive names fields whose values never go to the store.
func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveWords {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Redact replaces the values of sensitive fields, at any depth, with
// "[redacted]". A body that is not JSON is stored as it is.
func Redact(body []byte) []byte {
	// Most bodies name no sensitive field anywhere: they are stored as
	// they are, without being parsed.
	lower := bytes.ToLower(body)
	if !slices.ContainsFunc(sensitiveWords, func(w string) bool { return bytes.Contains(lower, []byte(w)) }) {
		return body
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return body
	}
	changed := false
	var walk func(any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, val := range t {
				if sensitive(k) {
					t[k] = "[redacted]"
					changed = true
				} else {
					t[k] = walk(val)
				}
			}
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		}
		return v
	}
	v = walk(v)
	if !changed {
		return body // keep the exact bytes
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}
