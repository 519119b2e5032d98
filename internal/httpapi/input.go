package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Hostile text is refused at the edge, once for every route, because
// PostgreSQL refuses a NUL byte or invalid UTF-8 in a text value with an
// error that would otherwise surface as a 500, and control characters have
// no business in names, filters or ids (they garble logs and terminals).
//
// Two rules:
//   - identifiers and filters (path, query, cursor contents): valid UTF-8,
//     no control character at all;
//   - free-form text (strings in a JSON body): valid UTF-8, no control
//     character but tab, line feed and carriage return.

// CheckText reports why s is not acceptable as free-form text, naming it
// what; nil when it is.
func CheckText(what, s string) error { return checkText(what, s, true) }

// CheckIdent is CheckText for identifiers and filters: no control
// character at all, tab and newline included.
func CheckIdent(what, s string) error { return checkText(what, s, false) }

func checkText(what, s string, freeForm bool) error {
	if !utf8.ValidString(s) {
		return apperr.Invalid("%s is not valid UTF-8", what)
	}
	for _, c := range s {
		if c == 0 {
			return apperr.Invalid("%s contains a NUL character", what)
		}
		if freeForm && (c == '\t' || c == '\n' || c == '\r') {
			continue
		}
		if unicode.IsControl(c) {
			return apperr.Invalid("%s contains a control character (U+%04X)", what, c)
		}
	}
	return nil
}

// CheckInput refuses a request whose path or query holds hostile text
// (see CheckIdent) with 400 invalid_request, before any handler runs, so
// every route, path parameter and query filter gets the same rule.
func CheckInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkURL(r.URL); err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func checkURL(u *url.URL) error {
	if err := CheckIdent("the request path", u.Path); err != nil {
		return err
	}
	if u.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return apperr.Invalid("the query string is malformed")
	}
	for k, vs := range q {
		if err := CheckIdent("a query parameter name", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := CheckIdent("query parameter "+quoteName(k), v); err != nil {
				// A storage path is refused with the code every other bad
				// storage path gets.
				if k == "path" && strings.HasPrefix(u.Path, "/api/v1/storage/") {
					if e, ok := apperr.As(err); ok {
						e.Code = "invalid_path"
					}
				}
				return err
			}
		}
	}
	return nil
}

// quoteName quotes a parameter name for a message; it is known to be
// clean text by the time it is used.
func quoteName(k string) string {
	if len(k) > 64 {
		k = k[:64]
	}
	return `"` + k + `"`
}

// checkJSONText walks every string of the JSON document raw, keys included,
// and checks it with CheckText (freeForm) or CheckIdent. raw must already be
// valid JSON; a syntax error here is left to the real decode to report.
func checkJSONText(raw []byte, what string, freeForm bool) error {
	if !utf8.Valid(raw) {
		return apperr.Invalid("%s is not valid UTF-8", what)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // malformed: the strict decode says where
		}
		s, ok := tok.(string)
		if !ok {
			continue
		}
		if err := checkText(what, s, freeForm); err != nil {
			return err
		}
	}
}
