package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Page sizes for every list route.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// PageRequest is what a list route was asked for.
type PageRequest struct {
	Size int
	// Cursor is the raw opaque cursor; decode it with DecodeCursor.
	Cursor string
}

// ParsePage reads page_size and cursor from the query.
func ParsePage(r *http.Request) (PageRequest, error) {
	p := PageRequest{Size: DefaultPageSize, Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, apperr.Invalid("page_size must be an integer from 1 to %d", MaxPageSize)
		}
		p.Size = n
	}
	return p, nil
}

// EncodeCursor makes an opaque cursor from any JSON-able position.
func EncodeCursor(pos any) string {
	b, _ := json.Marshal(pos)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor into pos. An empty cursor
// leaves pos untouched and returns false.
func DecodeCursor(cursor string, pos any) (bool, error) {
	if cursor == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	// A cursor is ours only if it decodes, and its strings are clean: a
	// forged one must not carry a NUL or invalid UTF-8 to the database.
	if err != nil || checkJSONText(b, "cursor", false) != nil || json.Unmarshal(b, pos) != nil {
		return false, apperr.Invalid("cursor is not one this server issued")
	}
	return true, nil
}

// List is the envelope of every list route.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// ParsePageAfter is ParsePage plus DecodeCursor: it reads page_size and
// decodes the cursor into after, which an absent cursor leaves untouched.
func ParsePageAfter(r *http.Request, after any) (PageRequest, error) {
	p, err := ParsePage(r)
	if err != nil {
		return p, err
	}
	_, err = DecodeCursor(p.Cursor, after)
	return p, err
}

// ParsePageFrom is ParsePageAfter for keyset positions passed as a pointer:
// after is nil when the request has no cursor (the first page).
func ParsePageFrom[T any](r *http.Request) (page PageRequest, after *T, err error) {
	p, err := ParsePage(r)
	if err != nil {
		return p, nil, err
	}
	var pos T
	ok, err := DecodeCursor(p.Cursor, &pos)
	if err != nil || !ok {
		return p, nil, err
	}
	return p, &pos, nil
}
