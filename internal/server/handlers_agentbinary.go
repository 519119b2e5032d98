package server

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/nodeauth"
	"github.com/gpuaas/gpuaas/internal/release"
)

// CodeNoAgentBinary is the error code when this server has no agent binary
// for the platform an agent asked for.
const CodeNoAgentBinary = "no_agent_binary"

// selfBinary is this process's own executable: one binary is both control
// plane and agent, so it is the agent binary of the server's version. Its
// digest is computed once, at first use.
var selfBinary struct {
	mu     sync.Mutex
	sha256 string
	size   int64
}

// selfExecutable opens the running image. On Linux /proc/self/exe is the
// inode the process runs even when a package upgrade replaced the file on
// disk, so the bytes always match Version.
func selfExecutable() (*os.File, error) {
	if runtime.GOOS == "linux" {
		if f, err := os.Open("/proc/self/exe"); err == nil {
			return f, nil
		}
	}
	p, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func selfDigest() (string, int64, error) {
	selfBinary.mu.Lock()
	defer selfBinary.mu.Unlock()
	if selfBinary.sha256 != "" {
		return selfBinary.sha256, selfBinary.size, nil
	}
	f, err := selfExecutable()
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sum, n, err := release.SHA256(f)
	if err != nil {
		return "", 0, err
	}
	selfBinary.sha256, selfBinary.size = sum, n
	return sum, n, nil
}

// agentBinary serves the agent binary of this server's version to a node
// agent (node credential as bearer), with its digest and the platform
// key's signature, for self-update. ?platform=GOOS/GOARCH names the
// agent's platform; another than the server's own is 404.
func (a *App) agentBinary(w http.ResponseWriter, r *http.Request) error {
	cred, ok := bearer(r)
	if !ok {
		return apperr.Unauthorized(nodeauth.CodeInvalidCredential, "a node credential is required")
	}
	if _, err := a.NodeAuth.Authenticate(r.Context(), cred); err != nil {
		return err
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	if p := r.URL.Query().Get("platform"); p != "" && p != platform {
		return &apperr.Error{Kind: apperr.KindNotFound, Code: CodeNoAgentBinary,
			Message: fmt.Sprintf("this server has the agent binary for %s only, not %s", platform, p)}
	}
	sum, size, err := selfDigest()
	if err != nil {
		return fmt.Errorf("agent binary: read own executable: %w", err)
	}
	kid, sig, err := a.Auth.SignBlob(r.Context(), release.Message(Version, sum))
	if err != nil {
		return fmt.Errorf("agent binary: %w", err)
	}
	f, err := selfExecutable()
	if err != nil {
		return fmt.Errorf("agent binary: open own executable: %w", err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set(release.HeaderVersion, Version)
	h.Set(release.HeaderSHA256, sum)
	h.Set(release.HeaderKid, kid)
	h.Set(release.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(release.HeaderPlatform, platform)
	w.WriteHeader(http.StatusOK)
	// A short copy shows as a digest mismatch on the agent's side.
	_, _ = io.Copy(w, io.LimitReader(f, size))
	return nil
}
