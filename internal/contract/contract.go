package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/gpuaas/gpuaas/api"
)

var (
	loadOnce sync.Once
	doc      *openapi3.T
	router   routers.Router
	loadErr  error
)

// Spec loads and validates api/openapi.yaml once.
func Spec() (*openapi3.T, routers.Router, error) {
	loadOnce.Do(func() {
		doc, loadErr = openapi3.NewLoader().LoadFromData(api.OpenAPI)
		if loadErr != nil {
			return
		}
		if loadErr = doc.Validate(context.Background()); loadErr != nil {
			return
		}
		// Tests serve on random ports: match paths on any host.
		doc.Servers = nil
		router, loadErr = legacy.NewRouter(doc)
	})
	return doc, router, loadErr
}

// Operations lists every "METHOD /path" the spec documents.
func Operations(t testing.TB) []string {
	d, _, err := Spec()
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	var out []string
	for path, item := range d.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}

// Transport checks each response against the spec and reports a mismatch
// as a test error: an undocumented route, an undocumented status, or a body
// that does not match its schema.
type Transport struct {
	T    testing.TB
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (c *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	// Websocket upgrades and streamed bodies are checked by their own tests.
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := Check(req, resp.StatusCode, resp.Header, body); err != nil {
		c.T.Errorf("contract: %s %s -> %d: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return resp, nil
}

// Check validates one response against the spec.
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	_, r, err := Spec()
	if err != nil {
		return err
	}
	route, params, err := r.FindRoute(req)
	if err != nil {
		// A path the spec does not know may only answer 404 or 405, in the envelope.
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return checkEnvelope(header, body)
		}
		return fmt.Errorf("route not in openapi.yaml: %w", err)
	}
	op := route.Operation
	if op.Responses.Status(status) == nil && op.Responses.Default() == nil {
		// Some statuses every route can give without each one listing them:
		// 400 for hostile text in the path or query (httpapi.CheckInput).
		switch status {
		case http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusMethodNotAllowed:
			return checkEnvelope(header, body)
		}
		return fmt.Errorf("status %d is not documented", status)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), in)
}

func checkEnvelope(header http.Header, body []byte) error {
	if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		return fmt.Errorf("error body is %q, not the JSON envelope", header.Get("Content-Type"))
	}
	if !bytes.Contains(body, []byte(`"code"`)) || !bytes.Contains(body, []byte(`"correlation_id"`)) {
		return fmt.Errorf("error body is not the envelope: %s", body)
	}
	return nil
}
