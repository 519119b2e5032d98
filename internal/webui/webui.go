package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Header values, exported so tests and docs quote one source.
const (
	// CacheImmutable is for Vite's content-hashed files under /assets/: a
	// new build gives them new names, so a browser may keep them forever.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheRevalidate is for index.html and other unhashed files: they
	// change in place with a deploy, so the browser asks every time (a
	// cheap 304 thanks to the ETag).
	CacheRevalidate = "no-cache"
	// ContentSecurityPolicy allows only the console's own origin; the
	// websockets (notifications, terminal) go to the same host over ws: or
	// wss:, and xterm and the app set inline styles.
	ContentSecurityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
		"style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
	// Pattern labels console requests in metrics and the access log, as a
	// ServeMux pattern would.
	Pattern = "GET /{console...}"
)

// reserved are the path roots that belong to the router, not the console:
// the API, the websockets, and the health, metrics and JWKS routes. A path
// equal to one or below it is never the console's, so an unknown
// /api/v1/... keeps its JSON 404 envelope.
var reserved = []string{"/api", "/ws", "/.well-known", "/healthz", "/readyz", "/metrics"}

// Reserved reports whether urlPath belongs to the router rather than the
// console.
func Reserved(urlPath string) bool {
	p := path.Clean("/" + urlPath)
	for _, root := range reserved {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return false
}

// Mount sends GET and HEAD requests for console paths to console and every
// other request to api. The console is not a route of api, so the route
// table (and its check against openapi.yaml) does not see it.
func Mount(api, console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !Reserved(r.URL.Path) {
			// Set on the request the access log and metrics middleware hold.
			r.Pattern = Pattern
			console.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// Handler serves a built console from an fs.FS rooted at its index.html.
type Handler struct {
	fsys  fs.FS
	built bool

	mu    sync.Mutex
	files map[string]*file // read once: the embedded FS never changes
}

// file is one served file, with its gzip form when that is worth sending.
type file struct {
	data   []byte
	etag   string
	ctype  string
	gz     []byte
	gzEtag string
}

// New serves fsys. Without an index.html in it (the console was not built)
// every page path gets a page that says how to build it.
func New(fsys fs.FS) *Handler {
	_, err := fs.Stat(fsys, "index.html")
	return &Handler{fsys: fsys, built: err == nil, files: map[string]*file{}}
}

// Built reports whether the FS holds a built console.
func (h *Handler) Built() bool { return h.built }

// ServeHTTP serves the exact file when there is one, 404 for a missing
// asset or a missing file with an extension, and index.html (or the
// not-built page) for any other path, which is a page of the app.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed, "405 method not allowed")
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	isAsset := name == "assets" || strings.HasPrefix(name, "assets/")
	if !hidden(name) {
		if f, ok := h.load(name); ok {
			cache := CacheRevalidate
			if isAsset {
				cache = CacheImmutable
			}
			h.serve(w, r, f, cache)
			return
		}
	}
	// A missing asset or file is a 404, not the app: a stale page asking
	// for last build's chunk must fail visibly, not parse HTML as script.
	if isAsset || path.Ext(name) != "" && name != "index.html" {
		plain(w, http.StatusNotFound, "404 page not found")
		return
	}
	if !h.built {
		h.serve(w, r, notBuilt, CacheRevalidate)
		return
	}
	if f, ok := h.load("index.html"); ok {
		h.serve(w, r, f, CacheRevalidate)
		return
	}
	plain(w, http.StatusNotFound, "404 page not found")
}

// hidden reports whether any segment of name starts with a dot (.gitkeep
// and the like are in the FS but are not the console's to serve).
func hidden(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// load reads name once and keeps it with its ETag and gzip form.
func (h *Handler) load(name string) (*file, bool) {
	h.mu.Lock()
	f, ok := h.files[name]
	h.mu.Unlock()
	if ok {
		return f, f != nil
	}
	if st, err := fs.Stat(h.fsys, name); err == nil && st.Mode().IsRegular() {
		if data, err := fs.ReadFile(h.fsys, name); err == nil {
			f = newFile(data, contentType(name, data))
		}
	}
	h.mu.Lock()
	h.files[name] = f // nil remembers a miss
	h.mu.Unlock()
	return f, f != nil
}

func newFile(data []byte, ctype string) *file {
	f := &file{data: data, etag: etag(data), ctype: ctype}
	if len(data) >= 1024 && compressible(ctype) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		_, _ = zw.Write(data)
		_ = zw.Close()
		// Only when it saves something worth a header.
		if buf.Len() < len(data)*9/10 {
			f.gz = buf.Bytes()
			f.gzEtag = etag(f.gz)
		}
	}
	return f
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, f *file, cache string) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("Cache-Control", cache)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(f.ctype, "text/html") {
		hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
		hdr.Set("Referrer-Policy", "same-origin")
	}
	body, tag := f.data, f.etag
	if f.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, tag = f.gz, f.gzEtag
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", tag)
	// ServeContent answers If-None-Match with 304, ranges and HEAD.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", CacheRevalidate)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// types are fixed here for what Vite emits, so the answer does not depend
// on the host's /etc/mime.types.
var types = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
}

func contentType(name string, data []byte) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := types[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return http.DetectContentType(data)
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "json") ||
		strings.Contains(ctype, "svg") || strings.Contains(ctype, "wasm")
}

// acceptsGzip reads Accept-Encoding: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// notBuilt is what a binary built without the console serves.
var notBuilt = newFile([]byte(notBuiltHTML), "text/html; charset=utf-8")

const notBuiltHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GPUaaS: console not built</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 4rem auto; padding: 0 1rem; color: #1f2328; }
code, pre { font-family: ui-monospace, monospace; background: #f3f4f6; border-radius: 4px; }
pre { padding: .75rem 1rem; overflow-x: auto; }
</style>
</head>
<body>
<main>
<h1>The web console is not built</h1>
<p>This gpuaas binary was built without the web console. The API is running:
<a href="/healthz">/healthz</a> answers, and the CLI (<code>gpuaas login</code>) works.</p>
<p>To build the console into the binary, from the repository root:</p>
<pre><code>cd web &amp;&amp; npm ci &amp;&amp; npm run build
cd .. &amp;&amp; go build ./cmd/gpuaas</code></pre>
<p>or simply run <code>make run</code>, which builds the console (when Node.js is installed) and starts
<code>gpuaas dev</code>.</p>
</main>
</body>
</html>
`
