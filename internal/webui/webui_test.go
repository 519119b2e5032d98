package webui_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gpuaas/gpuaas/internal/webui"
	"github.com/gpuaas/gpuaas/web"
)

const indexHTML = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`

func built() fstest.MapFS {
	return fstest.MapFS{
		"index.html":              {Data: []byte(indexHTML)},
		"assets/index-abc123.js":  {Data: []byte(strings.Repeat("console.log('gpuaas');\n", 200))},
		"assets/index-def456.css": {Data: []byte("body{margin:0}")},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		".gitkeep":                {Data: nil},
	}
}

func get(t *testing.T, h http.Handler, target string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantHTMLHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	for k, v := range map[string]string{
		"Content-Security-Policy": webui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           webui.CacheRevalidate,
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
}

func TestIndexAndFallback(t *testing.T) {
	h := webui.New(built())
	if !h.Built() {
		t.Fatal("Built() = false with an index.html")
	}
	for _, p := range []string{"/", "/index.html", "/login", "/allocations/0b6f5f0e-1c1a-4c1e-9f55-2f1d1c1e1f10",
		"/admin/users/", "/settings/profile?tab=x"} {
		t.Run(p, func(t *testing.T) {
			resp := get(t, h, p)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			wantHTMLHeaders(t, resp)
			if b := body(t, resp); b != indexHTML {
				t.Fatalf("body is not index.html: %q", b)
			}
		})
	}
}

func TestHashedAssetsAreImmutable(t *testing.T) {
	h := webui.New(built())
	resp := get(t, h, "/assets/index-def456.css")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != webui.CacheImmutable {
		t.Errorf("Cache-Control = %q, want %q", got, webui.CacheImmutable)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if b := body(t, resp); b != "body{margin:0}" {
		t.Errorf("body %q", b)
	}
	// An unhashed root file revalidates.
	resp = get(t, h, "/favicon.svg")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != webui.CacheRevalidate {
		t.Errorf("favicon: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestMissingFilesAre404(t *testing.T) {
	h := webui.New(built())
	for _, p := range []string{"/assets/index-old999.js", "/assets", "/assets/", "/robots.txt", "/deep/path/logo.png", "/.gitkeep"} {
		resp := get(t, h, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: a missing file must not get HTML, got %q", p, ct)
		}
	}
}

func TestETagAndGzip(t *testing.T) {
	h := webui.New(built())
	resp := get(t, h, "/assets/index-abc123.js")
	tag := resp.Header.Get("ETag")
	if tag == "" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain: ETag %q, Content-Encoding %q", tag, resp.Header.Get("Content-Encoding"))
	}
	if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
		t.Errorf("Vary = %q", got)
	}
	if resp := get(t, h, "/assets/index-abc123.js", "If-None-Match", tag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
	resp = get(t, h, "/assets/index-abc123.js", "Accept-Encoding", "br, gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") == tag {
		t.Fatalf("gzip: Content-Encoding %q, ETag %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if !strings.HasPrefix(string(b), "console.log") {
		t.Errorf("gunzipped body %q", b[:20])
	}
	if resp := get(t, h, "/assets/index-abc123.js", "Accept-Encoding", "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
}

func TestNotBuilt(t *testing.T) {
	h := webui.New(fstest.MapFS{".gitkeep": {Data: nil}})
	if h.Built() {
		t.Fatal("Built() = true without index.html")
	}
	for _, p := range []string{"/", "/login", "/admin/nodes"} {
		resp := get(t, h, p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", p, resp.StatusCode)
		}
		wantHTMLHeaders(t, resp)
		b := body(t, resp)
		if !strings.Contains(b, "not built") || !strings.Contains(b, "npm ci &amp;&amp; npm run build") ||
			!strings.Contains(b, "make run") {
			t.Fatalf("%s: placeholder does not say how to build: %s", p, b)
		}
	}
	if resp := get(t, h, "/assets/index-abc123.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("asset without a build: status %d, want 404", resp.StatusCode)
	}
}

// The embedded FS always compiles: a fresh clone has only dist/.gitkeep,
// a built tree has index.html. Either way "/" answers 200 with HTML.
func TestEmbeddedDist(t *testing.T) {
	resp := get(t, webui.New(web.Dist()), "/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wantHTMLHeaders(t, resp)
}

func TestMount(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":"not_found"}`)
	})
	h := webui.Mount(api, webui.New(built()))
	cases := []struct {
		method, path string
		console      bool
	}{
		{"GET", "/", true},
		{"HEAD", "/login", true},
		{"GET", "/allocations/x", true},
		{"GET", "/apis", true}, // only /api and below are the API's
		{"POST", "/login", false},
		{"GET", "/api", false},
		{"GET", "/api/v1/nope", false},
		{"GET", "/api/../api/v1/nope", false},
		{"GET", "/ws/terminal/x", false},
		{"GET", "/healthz", false},
		{"GET", "/readyz", false},
		{"GET", "/metrics", false},
		{"GET", "/.well-known/jwks.json", false},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		gotConsole := strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html")
		if gotConsole != c.console {
			t.Errorf("%s %s: console=%v, want %v", c.method, c.path, gotConsole, c.console)
		}
		if gotConsole && req.Pattern != webui.Pattern {
			t.Errorf("%s %s: Pattern %q", c.method, c.path, req.Pattern)
		}
	}
}
