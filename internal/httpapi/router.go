package httpapi

import (
	"net/http"
	"sort"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Route is one registered method and path pattern.
type Route struct {
	Method  string
	Pattern string
}

// Router is a net/http ServeMux that remembers what was registered, so the
// contract test can compare it with openapi.yaml, and answers unknown paths
// and methods with the JSON envelope.
type Router struct {
	mux    *http.ServeMux
	routes []Route
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// Handle registers h for method and a ServeMux path pattern such as
// "/api/v1/admin/nodes/{node_id}".
func (rt *Router) Handle(method, pattern string, h http.Handler) {
	rt.mux.Handle(method+" "+pattern, h)
	rt.routes = append(rt.routes, Route{Method: method, Pattern: pattern})
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(method, pattern string, h http.HandlerFunc) {
	rt.Handle(method, pattern, h)
}

// Routes lists every registered route, sorted.
func (rt *Router) Routes() []Route {
	out := append([]Route(nil), rt.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pattern != out[j].Pattern {
			return out[i].Pattern < out[j].Pattern
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// ServeHTTP dispatches, turning the mux's plain-text 404 and 405 into the
// JSON envelope.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		// The mux's own 404/405 handler; find out which by asking it.
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			WriteError(w, r, &apperr.Error{Kind: apperr.KindMethodNotAllowed, Code: apperr.CodeMethodNotAllowed,
				Message: "method " + r.Method + " is not allowed here"})
			return
		}
		WriteError(w, r, apperr.NotFound("route "+r.URL.Path))
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// statusOnly captures the status and headers of the mux's fallback handler.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }
