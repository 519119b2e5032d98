package server

import (
	"net/http"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// sshSession serves GET /api/v1/allocations/{allocation_id}/ssh: a
// websocket whose binary messages carry one SSH connection to the
// allocation (`gpuaas ssh --stdio`, an ssh ProxyCommand). The owner only;
// the allocation must be active. Everything checked before the upgrade is
// terminal.SSHOpener.Open; the bytes are copied by SSHSession.Serve.
func (a *App) sshSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	p, _ := reqctx.PrincipalFrom(r.Context())
	sess, err := a.SSHOpener.Open(r.Context(), p.UserID, id)
	if err != nil {
		return err
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		sess.Close()
		return nil // Accept answered the request
	}
	sess.Serve(r.Context(), c)
	return nil
}
