package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/sdk"
)

var ctx = context.Background()

// wantErr fails unless err is an API error with status and code.
func wantErr(t *testing.T, err error, status int, code string) *sdk.Error {
	t.Helper()
	e, ok := sdk.AsError(err)
	if !ok {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	if e.Status != status || (code != "" && e.Code != code) {
		t.Fatalf("want %d %s, got %d %s: %s", status, code, e.Status, e.Code, e.Message)
	}
	if e.CorrelationID == "" {
		t.Fatalf("error without correlation_id: %v", e)
	}
	return e
}

// raw sends a raw request through c and returns status and decoded envelope.
func raw(t *testing.T, c *sdk.Client, method, path, body string, hdr http.Header) (int, map[string]any, http.Header) {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{}
	}
	if body != "" && hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json")
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	resp, err := c.Do(ctx, method, path, rd, hdr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	if resp.Header.Get("X-Request-ID") == "" {
		t.Fatalf("%s %s: no X-Request-ID", method, path)
	}
	return resp.StatusCode, out, resp.Header
}
