package server

import (
	"net/http"
	"strconv"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/terminal"
)

// terminalSession serves GET /ws/terminal/{allocation_id}: the single-use
// terminal token comes as Authorization: Bearer, or as the second entry of
// Sec-WebSocket-Protocol: bearer, <token>. Everything answered before the
// upgrade (token, socket cap, allocation) is terminal.Opener.Open; the
// session itself is Session.Serve. X-Gpuaas-Terminal-Pty: 0 asks for the
// command on pipes instead (stdout and stderr apart, stdin EOF passed on),
// as `ssh host cmd`.
func (a *App) terminalSession(w http.ResponseWriter, r *http.Request) {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	req := terminal.Request{AllocationID: id, Command: r.Header.Get("X-Gpuaas-Terminal-Command")}
	switch v := r.Header.Get("X-Gpuaas-Terminal-Pty"); v {
	case "", "1":
	case "0":
		req.NoPTY = true
	default: // checked before the token is spent
		httpapi.WriteError(w, r, apperr.Invalid("header X-Gpuaas-Terminal-Pty must be 0 or 1, not %q", v))
		return
	}
	q := r.URL.Query()
	req.Cols, req.Rows = atoiOr(q.Get("cols")), atoiOr(q.Get("rows"))
	token, ok := bearer(r)
	viaProtocol := false
	if !ok {
		token, ok = protocolBearer(r)
		viaProtocol = ok
	}
	if !ok {
		httpapi.WriteError(w, r, apperr.Unauthorized("", "missing terminal token"))
		return
	}
	req.Token = token
	sess, err := a.TerminalOpener.Open(r.Context(), req)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	defer sess.Close()
	opts := &websocket.AcceptOptions{}
	if viaProtocol {
		opts.Subprotocols = []string{terminal.Subprotocol}
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept answered the request
	}
	sess.Serve(r.Context(), c)
}

// atoiOr parses a window dimension; anything else is 0 (the default size).
func atoiOr(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 10000 {
		return 0
	}
	return n
}
