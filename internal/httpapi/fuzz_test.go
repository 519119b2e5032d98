package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// The fuzz targets below run their seed corpus under plain `go test`, which
// is the short run CI does; `go test -fuzz=FuzzDecode ./internal/httpapi`
// explores further. Each asserts what a hostile caller must never get: a
// panic, a 5xx, or a string that PostgreSQL would refuse.

type fuzzBody struct {
	Name   string            `json:"name"`
	Count  int               `json:"count"`
	Labels map[string]string `json:"labels"`
	Tags   []string          `json:"tags"`
	When   *time.Time        `json:"when"`
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","count":1}`, `{"name":"a\u0000b"}`, "{\"name\":\"\xff\"}", `{"labels":{"k\u0007":"v"}}`,
		`{"tags":["x","\u001b[31m"]}`, `{}`, ``, `[]`, `{"name":1}`, `{"unknown":true}`, `{"a":1}{"a":2}`,
		`{"when":"not a time"}`, `{"name":"tab\tand\nnewline"}`, `{"name":"\ud800"}`, `nul`, `{"name":"` + strings.Repeat("x", 2000) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 1024)
		var v fuzzBody
		err := httpapi.Decode(req, &v)
		if err != nil {
			if s := httpapi.StatusOf(err); s >= 500 {
				t.Fatalf("Decode(%q) is %d: %v", body, s, err)
			}
			return
		}
		for _, s := range append(append([]string{v.Name}, v.Tags...), mapStrings(v.Labels)...) {
			if httpapi.CheckText("s", s) != nil {
				t.Fatalf("Decode(%q) let %q through", body, s)
			}
		}
	})
}

func mapStrings(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

type fuzzCursor struct {
	T  string `json:"t"`
	ID int64  `json:"id"`
}

func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{
		httpapi.EncodeCursor(fuzzCursor{T: "2026-01-01T00:00:00Z", ID: 7}),
		base64.RawURLEncoding.EncodeToString([]byte(`{"t":"\u0000","id":1}`)),
		base64.RawURLEncoding.EncodeToString([]byte("{\"t\":\"\xc3\x28\",\"id\":1}")),
		base64.RawURLEncoding.EncodeToString([]byte(`{"t":"x","id":"nope"}`)),
		"", "!!!", "e30", "====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		var pos fuzzCursor
		ok, err := httpapi.DecodeCursor(cursor, &pos)
		if err != nil {
			if !apperr.IsKind(err, apperr.KindInvalid) {
				t.Fatalf("DecodeCursor(%q): %v, want invalid", cursor, err)
			}
			return
		}
		if ok && httpapi.CheckIdent("t", pos.T) != nil {
			t.Fatalf("DecodeCursor(%q) let %q through", cursor, pos.T)
		}
	})
}

// FuzzPathParams sends arbitrary text as a path parameter and as a query
// value through the middleware stack; whatever it is, the answer is the
// handler's 200 or a 4xx envelope, and the handler only ever sees clean text.
func FuzzPathParams(f *testing.F) {
	for _, s := range []string{"abc", "a%00b", "%ff", "%c3%28", "%1b[2J", "..%2f..%2fetc", "%", "%zz", "a b", "\u00e9", "%e2%80%ae"} {
		f.Add(s, s)
	}
	rt := httpapi.NewRouter()
	rt.HandleFunc("GET", "/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, s := range []string{r.PathValue("id"), r.URL.Query().Get("q")} {
			if httpapi.CheckIdent("s", s) != nil {
				t := r.Context().Value(testKey{}).(*testing.T)
				t.Errorf("handler saw %q", s)
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	})
	h := httpapi.RequestID(httpapi.Recover(httpapi.CheckInput(rt)))
	f.Fuzz(func(t *testing.T, id, q string) {
		u := &url.URL{Path: "/things/x", RawQuery: "q=" + q}
		target := "/things/" + id + "?" + u.RawQuery
		req, err := http.NewRequest("GET", "http://example.com"+target, nil)
		if err != nil {
			t.Skip() // not a request line a client could send
		}
		req = req.WithContext(contextWithT(req, t))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var env map[string]string
			if json.Unmarshal(rec.Body.Bytes(), &env) != nil || env["code"] == "" || env["correlation_id"] == "" {
				t.Fatalf("GET %s: %d without the envelope: %s", target, rec.Code, rec.Body)
			}
		}
	})
}

type testKey struct{}

func contextWithT(r *http.Request, t *testing.T) context.Context {
	return context.WithValue(r.Context(), testKey{}, t)
}
