package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// Error codes of this package.
const (
	CodeAppUnavailable  = "app_unavailable"
	CodeNodeUnreachable = "node_unreachable"
)

// Targets resolves an allocation's app (allocation.Service.AppTarget).
type Targets interface {
	AppTarget(ctx context.Context, id uuid.UUID, port string, tokenEnv func(launchable string) string) (allocation.AppTarget, error)
	// MayActFor reports whether caller may use account's allocations: it
	// is them, or a team they are in. It is asked on every request, never
	// cached, so a member's removal holds at once.
	MayActFor(ctx context.Context, account, caller uuid.UUID) (bool, error)
}

// Streams opens streams to node agents (agentgw.Gateway.OpenStream).
type Streams interface {
	OpenStream(ctx context.Context, nodeID uuid.UUID, header any) (net.Conn, error)
}

// Launchable is what the proxy needs of a launchable's manifest.
type Launchable struct {
	KeepPrefix bool
	TokenEnv   string
}

// Proxy serves /apps/{allocation_id}/{port_name}/….
type Proxy struct {
	targets      Targets
	streams      Streams
	tickets      *Tickets
	authenticate func(ctx context.Context, bearer string) (uuid.UUID, error)
	launchable   func(id string) Launchable
	rp           *httputil.ReverseProxy

	mu    sync.Mutex
	cache map[cacheKey]cached
}

type cacheKey struct {
	id   uuid.UUID
	port string
}

type cached struct {
	t   allocation.AppTarget
	err error
	at  time.Time
}

// targetTTL is how long a resolved target is reused: a release or a
// suspension reaches the proxy within it.
const targetTTL = 2 * time.Second

// replyTimeout bounds the agent's answer to an app stream (it dials the
// port in at most 3 s).
const replyTimeout = 6 * time.Second

// NewProxy serves apps of targets over streams. authenticate checks a
// user's access token; launchable describes a launchable by id.
func NewProxy(targets Targets, streams Streams, tickets *Tickets,
	authenticate func(ctx context.Context, bearer string) (uuid.UUID, error), launchable func(id string) Launchable) *Proxy {
	p := &Proxy{targets: targets, streams: streams, tickets: tickets, authenticate: authenticate, launchable: launchable,
		cache: map[cacheKey]cached{}}
	transport := &http.Transport{
		DialContext:         p.dial,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // pass the app's encoding through
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: transport,
		// Zero: a response of known length goes out in as few writes as
		// it can; ReverseProxy flushes every write of a stream (server-sent
		// events, a body of unknown length) at once by itself.
		FlushInterval: 0,
		ErrorHandler:  p.failed,
		// Without a pool ReverseProxy makes a 32 KiB buffer per response:
		// at thousands of requests a second that is most of the garbage.
		BufferPool: bufferPool{},
		ErrorLog:   slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	return p
}

// ServeHTTP implements http.Handler for paths under /apps/.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, port, rest, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		httpapi.WriteError(w, r, apperr.NotFound("app"))
		return
	}
	if rest == "" { // relative links need the slash
		u := *r.URL
		u.Path, u.RawPath = allocation.AppPath(id, port)+"/", ""
		http.Redirect(w, r, u.RequestURI(), http.StatusPermanentRedirect)
		return
	}
	userID, viaBearer, err := p.who(r, id, port)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	t, err := p.target(r.Context(), id, port)
	if err == nil && !t.OwnerActive {
		err = apperr.NotFound("app")
	}
	if err == nil && t.OwnerID != userID {
		var ok bool
		if ok, err = p.targets.MayActFor(r.Context(), t.OwnerID, userID); err == nil && !ok {
			err = apperr.NotFound("app")
		}
	}
	if err == nil && t.Status != allocation.StatusActive {
		err = apperr.Conflict("invalid_state", "allocation is %s; its apps are reachable only while it is active", t.Status)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	// Uploads, downloads and websockets last as long as they last; the
	// server's read deadline is for API requests.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	p.aim(r, id, port, t, viaBearer)
	p.rp.ServeHTTP(w, r)
}

// aim points r itself at the app, before ReverseProxy clones it (so no
// per-request state has to ride on a new context): the host names the
// allocation, its container port and its node (so pooled connections are
// per app); the path loses its prefix unless the launchable keeps it; our
// credentials go and the app's own token comes in.
func (p *Proxy) aim(r *http.Request, id uuid.UUID, port string, t allocation.AppTarget, viaBearer bool) {
	prefix := allocation.AppPath(id, port)
	r.URL.Scheme = "http"
	r.URL.Host = id.String() + "." + strconv.Itoa(t.Port) + "." + t.NodeID.String()
	if !p.launchable(t.Launchable).KeepPrefix {
		rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
		path, err := url.PathUnescape(rest)
		if err != nil {
			path = rest
		}
		r.URL.Path, r.URL.RawPath = path, rest
		if path == rest {
			r.URL.RawPath = ""
		}
	}
	h := r.Header
	h.Set("X-Forwarded-Prefix", prefix)
	if viaBearer {
		h.Del("Authorization")
	}
	if t.Token != "" {
		h.Set("Authorization", "token "+t.Token)
	}
	stripCookie(h, CookieName)
}

// splitPath takes /apps/{id}/{port}{rest} apart; rest is "" or starts
// with a slash.
func splitPath(p string) (uuid.UUID, string, string, bool) {
	s, ok := strings.CutPrefix(p, "/apps/")
	if !ok {
		return uuid.Nil, "", "", false
	}
	idStr, s, _ := strings.Cut(s, "/")
	id, err := uuid.Parse(idStr)
	if err != nil || len(idStr) != 36 {
		return uuid.Nil, "", "", false
	}
	port, rest, slash := strings.Cut(s, "/")
	if port == "" || len(port) > 32 {
		return uuid.Nil, "", "", false
	}
	if slash {
		rest = "/" + rest
	}
	return id, port, rest, true
}

// who is the user behind r: the app's cookie for this app, or an access
// token as a bearer.
func (p *Proxy) who(r *http.Request, id uuid.UUID, port string) (uuid.UUID, bool, error) {
	for _, c := range r.Cookies() {
		if c.Name != CookieName {
			continue
		}
		if g, ok := p.tickets.OpenCookie(c.Value); ok && g.AllocationID == id && g.Port == port {
			return g.UserID, false, nil
		}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "" {
			uid, err := p.authenticate(r.Context(), strings.TrimSpace(token))
			return uid, true, err
		}
	}
	return uuid.Nil, false, apperr.Unauthorized("", "sign in to this app through its Open button (a ticket), or send your access token as a bearer")
}

// target resolves id's port, reusing an answer for targetTTL.
func (p *Proxy) target(ctx context.Context, id uuid.UUID, port string) (allocation.AppTarget, error) {
	k := cacheKey{id, port}
	now := time.Now()
	p.mu.Lock()
	c, ok := p.cache[k]
	p.mu.Unlock()
	if ok && now.Sub(c.at) < targetTTL {
		return c.t, c.err
	}
	t, err := p.targets.AppTarget(ctx, id, port, func(l string) string { return p.launchable(l).TokenEnv })
	var ae *apperr.Error
	if err != nil && !errors.As(err, &ae) {
		return t, err // a failure, not an answer: not kept
	}
	p.mu.Lock()
	if len(p.cache) > 10000 {
		clear(p.cache)
	}
	p.cache[k] = cached{t: t, err: err, at: now}
	p.mu.Unlock()
	return t, err
}

// rewrite finishes the outgoing request aim prepared: the Host header
// stays the browser's, so the app's own origin checks (Jupyter's
// websockets) see the browser's origin, and the X-Forwarded-* headers say
// where the request came from.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
}

// stripCookie removes the cookies called name from h's Cookie headers.
func stripCookie(h http.Header, name string) {
	var keep []string
	for _, line := range h.Values("Cookie") {
		var parts []string
		for _, c := range strings.Split(line, ";") {
			if n, _, _ := strings.Cut(strings.TrimSpace(c), "="); n != name {
				parts = append(parts, strings.TrimSpace(c))
			}
		}
		if len(parts) > 0 {
			keep = append(keep, strings.Join(parts, "; "))
		}
	}
	h.Del("Cookie")
	for _, v := range keep {
		h.Add("Cookie", v)
	}
}

// dial opens an app stream to the node that addr (rewrite's host) names
// and waits for the agent's answer.
func (p *Proxy) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	parts := strings.Split(host, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("app proxy: bad dial address %q", addr)
	}
	id, err1 := uuid.Parse(parts[0])
	port, err2 := strconv.Atoi(parts[1])
	node, err3 := uuid.Parse(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("app proxy: bad dial address %q: %w", addr, err)
	}
	conn, err := p.streams.OpenStream(ctx, node, agentproto.AppHeader{Type: agentproto.StreamApp, AllocationID: id.String(), Port: port})
	if err != nil {
		return nil, &dialError{code: CodeNodeUnreachable, msg: err.Error()}
	}
	_ = conn.SetReadDeadline(time.Now().Add(replyTimeout))
	line, err := agentproto.ReadLine(conn)
	_ = conn.SetReadDeadline(time.Time{})
	var reply agentproto.StreamReply
	if err == nil {
		err = json.Unmarshal(line, &reply)
	}
	if err != nil {
		conn.Close()
		return nil, &dialError{code: CodeAppUnavailable, msg: "the node's agent did not answer for the app (an agent too old for apps?)"}
	}
	if !reply.OK {
		conn.Close()
		return nil, &dialError{code: CodeAppUnavailable, msg: reply.Message}
	}
	return conn, nil
}

type dialError struct{ code, msg string }

func (e *dialError) Error() string { return e.msg }

// failed answers a request the app did not: 503 when the node cannot be
// reached, 502 app_unavailable when the app refused, reset or closed
// the connection before it answered.
func (p *Proxy) failed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	var de *dialError
	switch {
	case errors.As(err, &de) && de.code == CodeNodeUnreachable:
		httpapi.WriteError(w, r, &apperr.Error{Kind: apperr.KindUnavailable, Code: CodeNodeUnreachable,
			Message: "the allocation's node cannot be reached now; try again shortly"})
	case errors.As(err, &de):
		httpapi.WriteError(w, r, appUnavailable("the app is not answering: "+de.msg))
	default:
		httpapi.WriteError(w, r, appUnavailable("the app closed the connection before it answered"))
	}
}

func appUnavailable(msg string) *apperr.Error {
	return apperr.BadGateway(CodeAppUnavailable, "%s", msg)
}

// Mount serves paths under /apps/ with proxy and everything else with next.
func Mount(next http.Handler, proxy http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/apps/") {
			r.Pattern = httpapi.AppsRoute // for the metrics and the access log
			proxy.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
