package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one GPUaaS control plane. It is safe for concurrent use.
type Client struct {
	baseURL   string
	hc        *http.Client
	tokens    TokenSource
	userAgent string
	// storageTeam, when set (InTeam), points storage calls at a team.
	storageTeam string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, transport, TLS).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithAccessToken sends a fixed bearer token with every authenticated call.
func WithAccessToken(token string) Option {
	return func(c *Client) { c.tokens = StaticToken(token) }
}

// WithTokenSource asks src for the bearer token before each authenticated
// call; a RefreshingTokenSource renews an expiring token there.
func WithTokenSource(src TokenSource) Option {
	return func(c *Client) { c.tokens = src }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the control plane at baseURL (scheme, host and
// optional port, such as http://127.0.0.1:8080).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		hc:        &http.Client{Timeout: 60 * time.Second},
		userAgent: "gpuaas-sdk",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL is the control plane's URL as given to New, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

type requestIDKey struct{}

// WithRequestID returns a context whose calls send X-Request-ID: id, so a
// caller can correlate its own logs with the server's. Without it the
// server makes one up and echoes it back.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// Do sends a raw request to path (relative to the base URL, query string
// allowed) and returns the response as it came, whatever its status; the
// caller closes the body. It adds the bearer token unless headers already
// carry an Authorization header, and X-Request-ID from the context. Tests
// use it for input that the typed methods would never produce.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, headers http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Authorization") == "" && c.tokens != nil {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("get access token: %w", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	c.decorate(ctx, req)
	return c.hc.Do(req)
}

func (c *Client) decorate(ctx context.Context, req *http.Request) {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" && req.Header.Get("X-Request-ID") == "" {
		req.Header.Set("X-Request-ID", id)
	}
	if req.Header.Get("User-Agent") == "" && c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
}

// call is one typed API call.
type call struct {
	method string
	path   string
	query  url.Values
	in     any  // JSON request body, nil for none
	out    any  // decoded on success when non-nil
	auth   bool // send the bearer token
	want   int  // expected status; 0 means any 2xx
	header http.Header
	// body is a raw request body (instead of in), of length bytes (-1:
	// unknown), with contentType.
	body        io.Reader
	length      int64
	contentType string
	// stream: a transfer bound by ctx alone, not the HTTP client's
	// timeout (an upload or a download of any size).
	stream bool
}

// send performs cl and returns the open response on success (the caller
// closes it) or an *Error for a non-2xx status.
func (c *Client) send(ctx context.Context, cl call) (*http.Response, error) {
	u := c.baseURL + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	body := cl.body
	if cl.in != nil {
		b, err := json.Marshal(cl.in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range cl.header {
		req.Header[k] = v
	}
	if cl.in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.body != nil {
		req.ContentLength = cl.length
		if cl.length == 0 {
			req.Body = http.NoBody
		}
		if cl.contentType != "" {
			req.Header.Set("Content-Type", cl.contentType)
		}
	}
	if cl.auth {
		if c.tokens == nil {
			return nil, ErrNoCredentials
		}
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("get access token: %w", err)
		}
		if tok == "" {
			return nil, ErrNoCredentials
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c.decorate(ctx, req)
	hc := c.hc
	if cl.stream && hc.Timeout != 0 {
		sc := *hc
		sc.Timeout = 0
		hc = &sc
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", cl.method, cl.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || (cl.want != 0 && resp.StatusCode != cl.want) {
		defer resp.Body.Close()
		return nil, parseError(resp)
	}
	return resp, nil
}

// doJSON performs cl and decodes the body into cl.out.
func (c *Client) doJSON(ctx context.Context, cl call) error {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if cl.out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(cl.out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", cl.method, cl.path, err)
	}
	return nil
}

// ErrNoCredentials is returned by authenticated calls on a client that has
// no access token.
var ErrNoCredentials = errors.New("no access token: sign in first")
