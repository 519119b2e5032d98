package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/webui"
)

const (
	sessionCookie = "gpuaas_refresh"
	sessionPath   = "/api/v1/auth/token/refresh"
)

// webPost sends what the console sends: a JSON POST with, optionally, the
// session cookie. It returns the status, the body and the Set-Cookie the
// server answered with (nil when none).
func webPost(t *testing.T, env *servertest.Env, path, body, cookie string, hdr http.Header) (int, []byte, *http.Cookie) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var set *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			if set != nil {
				t.Fatalf("POST %s: two %s cookies set", path, sessionCookie)
			}
			set = c
		}
	}
	return resp.StatusCode, b, set
}

func pairOf(t *testing.T, b []byte) api.TokenPair {
	t.Helper()
	var p api.TokenPair
	if err := json.Unmarshal(b, &p); err != nil || p.RefreshToken == "" || p.AccessToken == "" {
		t.Fatalf("not a token pair: %s (%v)", b, err)
	}
	return p
}

// wantSessionCookie checks the attributes the console's safety rests on.
func wantSessionCookie(t *testing.T, env *servertest.Env, c *http.Cookie, value string) {
	t.Helper()
	if c == nil {
		t.Fatal("no gpuaas_refresh cookie set")
	}
	if c.Value != value {
		t.Errorf("cookie value %q, want the body's refresh token %q", c.Value, value)
	}
	if c.Path != sessionPath {
		t.Errorf("cookie Path %q, want %q", c.Path, sessionPath)
	}
	if !c.HttpOnly {
		t.Error("cookie is not HttpOnly")
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie SameSite %v, want Strict", c.SameSite)
	}
	if want := strings.HasPrefix(env.Config.PublicURL, "https://"); c.Secure != want {
		t.Errorf("cookie Secure = %v with public URL %s, want %v", c.Secure, env.Config.PublicURL, want)
	}
	if want := int(env.Config.RefreshTokenTTL.Seconds()); c.MaxAge != want {
		t.Errorf("cookie Max-Age %d, want the refresh TTL %d", c.MaxAge, want)
	}
}

func wantCleared(t *testing.T, c *http.Cookie) {
	t.Helper()
	if c == nil {
		t.Fatal("the gpuaas_refresh cookie was not cleared")
	}
	// net/http reads "Max-Age=0" as MaxAge -1.
	if c.MaxAge >= 0 || c.Value != "" || c.Path != sessionPath {
		t.Fatalf("clearing cookie: value %q, Max-Age %d, Path %q", c.Value, c.MaxAge, c.Path)
	}
}

func TestWebSessionCookie(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	login := `{"username":"` + u.Username + `","password":"` + servertest.Password + `"}`

	// Login: the body keeps the pair (CLI, SDK) and the cookie holds the
	// same refresh token.
	status, b, c := webPost(t, env, "/api/v1/auth/personal/login", login, "", nil)
	if status != 200 {
		t.Fatalf("login: %d %s", status, b)
	}
	first := pairOf(t, b)
	wantSessionCookie(t, env, c, first.RefreshToken)

	// Refresh with only the cookie (no body at all) rotates it.
	status, b, c = webPost(t, env, sessionPath, "", first.RefreshToken, nil)
	if status != 200 {
		t.Fatalf("cookie refresh: %d %s", status, b)
	}
	second := pairOf(t, b)
	if second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not rotate the token")
	}
	wantSessionCookie(t, env, c, second.RefreshToken)
	if _, err := env.Client(second.AccessToken).Me(ctx); err != nil {
		t.Fatalf("access token from a cookie refresh: %v", err)
	}

	// And with "{}", as a fetch with a JSON body sends it.
	status, b, c = webPost(t, env, sessionPath, "{}", second.RefreshToken, nil)
	if status != 200 {
		t.Fatalf("cookie refresh with {}: %d %s", status, b)
	}
	third := pairOf(t, b)
	wantSessionCookie(t, env, c, third.RefreshToken)

	// Replaying a spent cookie value revokes the family (the live third
	// token with it) and clears the cookie.
	status, b, c = webPost(t, env, sessionPath, "", first.RefreshToken, nil)
	if status != 401 || !strings.Contains(string(b), "refresh_token_reused") {
		t.Fatalf("replayed cookie: %d %s", status, b)
	}
	wantCleared(t, c)
	status, _, c = webPost(t, env, sessionPath, "", third.RefreshToken, nil)
	if status != 401 {
		t.Fatalf("token of a revoked family: %d", status)
	}
	wantCleared(t, c)

	// Logout clears the cookie (and revokes the session it belongs to).
	status, b, _ = webPost(t, env, "/api/v1/auth/personal/login", login, "", nil)
	if status != 200 {
		t.Fatalf("login: %d %s", status, b)
	}
	fourth := pairOf(t, b)
	status, b, c = webPost(t, env, "/api/v1/auth/logout", "", "",
		http.Header{"Authorization": {"Bearer " + fourth.AccessToken}})
	if status != 204 {
		t.Fatalf("logout: %d %s", status, b)
	}
	wantCleared(t, c)
	if status, _, _ := webPost(t, env, sessionPath, "", fourth.RefreshToken, nil); status != 401 {
		t.Fatalf("refresh after logout: %d, want 401", status)
	}
}

func TestWebSessionCookieRules(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	pair, err := env.Client("").Login(ctx, u.Username, servertest.Password)
	if err != nil {
		t.Fatal(err)
	}

	// No token anywhere: 400, as before the cookie existed.
	if status, b, _ := webPost(t, env, sessionPath, "{}", "", nil); status != 400 || !strings.Contains(string(b), "invalid_request") {
		t.Fatalf("no token: %d %s", status, b)
	}
	// The cookie is honoured only on a JSON request: a cross-site form
	// cannot send one without a preflight.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
		status, b, c := webPost(t, env, sessionPath, "", pair.RefreshToken, http.Header{"Content-Type": {ct}})
		if status != 400 || c != nil {
			t.Fatalf("cookie with Content-Type %s: %d %s (cookie %v)", ct, status, b, c)
		}
	}
	// The body wins over the cookie.
	status, b, c := webPost(t, env, sessionPath, `{"refresh_token":"`+pair.RefreshToken+`"}`, "gpr_not-a-real-token", nil)
	if status != 200 {
		t.Fatalf("body token with a bad cookie: %d %s", status, b)
	}
	next := pairOf(t, b)
	wantSessionCookie(t, env, c, next.RefreshToken)
	// A forged cookie is refused and cleared.
	status, _, c = webPost(t, env, sessionPath, "", "gpr_not-a-real-token", nil)
	if status != 401 {
		t.Fatalf("forged cookie: %d", status)
	}
	wantCleared(t, c)
}

// The console answers page paths; the API keeps its JSON 404 envelope.
func TestConsoleMounted(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	// A plain client: the console is not in openapi.yaml.
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, p := range []string{"/", "/login", "/allocations/123"} {
		resp, body := get(p)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<html") {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("X-Request-ID") == "" || resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("%s: headers %v", p, resp.Header)
		}
	}
	for _, p := range []string{"/api/v1/nope", "/api", "/ws/nope", "/.well-known/nope"} {
		resp, body := get(p)
		if resp.StatusCode != 404 || !strings.Contains(body, `"correlation_id"`) {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	// A POST to a page path is not the console's: the router's envelope.
	resp, err := http.Post(env.URL+"/login", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("POST /login: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// Every route the server registers must stay out of the console's way, or
// the console would shadow it.
func TestRoutesAreNotConsolePaths(t *testing.T) {
	t.Parallel()
	app := &server.App{Roles: config.Roles{"api": true, "worker": true}, Registry: prometheus.NewRegistry()}
	for _, r := range app.Router().Routes() {
		// A pattern's wildcards are plain path segments for this check.
		if !webui.Reserved(r.Pattern) {
			t.Errorf("%s %s is served by the console (add its root to webui's reserved list)", r.Method, r.Pattern)
		}
	}
}

// TestWebSessionCookieSecureBehindTLSProxy: when users reach the platform
// over https (--public-url) the cookie is Secure even though the proxy
// talks plain HTTP to us.
func TestWebSessionCookieSecureBehindTLSProxy(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.PublicURL = "https://gpu.example.com" })
	u := env.NewUser("user")
	status, b, c := webPost(t, env, "/api/v1/auth/personal/login",
		`{"username":"`+u.Username+`","password":"`+servertest.Password+`"}`, "", nil)
	if status != 200 {
		t.Fatalf("login: %d %s", status, b)
	}
	wantSessionCookie(t, env, c, pairOf(t, b).RefreshToken)
}
