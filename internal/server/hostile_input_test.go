package server_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestHostileTextIsInvalidRequest: a NUL byte, invalid UTF-8 or a control
// character anywhere a caller can put text (JSON bodies, query filters,
// path parameters, cursors) is 400 invalid_request with the envelope, never
// a 500 from the database refusing the bytes.
func TestHostileTextIsInvalidRequest(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	anon := env.Client("")
	nulCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2026-01-01\u0000","id":"` + uuid.NewString() + `"}`))
	badUTF8Cursor := base64.RawURLEncoding.EncodeToString([]byte("{\"t\":\"\xff\xfe\",\"id\":\"" + uuid.NewString() + "\"}"))
	alloc := "/api/v1/admin/allocations/" + uuid.NewString() + "/force-release"
	cases := []struct {
		name, method, path, body string
		anonymous                bool
	}{
		{"NUL in login name", "POST", "/api/v1/auth/personal/login", `{"username":"ad\u0000min","password":"x"}`, true},
		{"control in login name", "POST", "/api/v1/auth/personal/login", `{"username":"ad\u0007min","password":"x"}`, true},
		{"invalid UTF-8 in login name", "POST", "/api/v1/auth/personal/login", "{\"username\":\"ad\xffmin\",\"password\":\"x\"}", true},
		{"NUL in allocation name", "POST", "/api/v1/allocations", `{"sku_id":"h200-x1","name":"a\u0000b"}`, false},
		{"NUL in sku id", "POST", "/api/v1/allocations", `{"sku_id":"h200\u0000"}`, false},
		{"NUL in reason", "POST", alloc, `{"reason":"bad\u0000actor"}`, false},
		{"NUL in node labels", "POST", "/api/v1/admin/nodes", `{"hostname":"n1","region":"r1","labels":{"k":"v\u0000"}}`, false},
		{"NUL in query filter", "GET", "/api/v1/admin/users?q=a%00b", "", false},
		{"invalid UTF-8 in query filter", "GET", "/api/v1/admin/users?q=%ff%fe", "", false},
		{"control in query filter", "GET", "/api/v1/admin/nodes?q=a%1bb", "", false},
		{"NUL in audit filter", "GET", "/api/v1/admin/audit-logs?action=x%00", "", false},
		{"NUL in path parameter", "GET", "/api/v1/admin/users/" + uuid.NewString() + "%00", "", false},
		{"invalid UTF-8 in path parameter", "GET", "/api/v1/admin/nodes/%c3%28", "", false},
		{"NUL in cursor", "GET", "/api/v1/admin/users?cursor=" + url.QueryEscape(nulCursor), "", false},
		{"invalid UTF-8 in cursor", "GET", "/api/v1/admin/users?cursor=" + url.QueryEscape(badUTF8Cursor), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := admin
			if tc.anonymous {
				c = anon
			}
			status, body, hdr := raw(t, c, tc.method, tc.path, tc.body, nil)
			if status != http.StatusBadRequest || body["code"] != "invalid_request" {
				t.Fatalf("%s %s: %d %v, want 400 invalid_request", tc.method, tc.path, status, body)
			}
			if body["correlation_id"] != hdr.Get("X-Request-ID") || body["message"] == "" {
				t.Fatalf("not the envelope: %v", body)
			}
		})
	}
}

// TestExportAnswersBadInputWithEnvelope: the streamed CSV export checks its
// input before the first byte, so a bad filter is a 400 envelope and not a
// dropped connection.
func TestExportAnswersBadInputWithEnvelope(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	for _, q := range []string{"action=x%00", "target_id=%ff", "actor_user_id=nope", "since=yesterday"} {
		resp, err := admin.Do(ctx, "GET", "/api/v1/admin/audit-logs/export?"+q, nil, nil)
		if err != nil {
			t.Fatalf("export ?%s: the connection dropped: %v", q, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"invalid_request"`) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("export ?%s: %d %s %q", q, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}
