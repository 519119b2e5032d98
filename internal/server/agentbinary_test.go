package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/release"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestAgentBinaryIsServedSigned(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "gpu-bin-01", Region: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	anon := env.Client("")
	joined, err := anon.AgentJoin(ctx, jt.Token)
	if err != nil {
		t.Fatal(err)
	}
	bearer := http.Header{"Authorization": {"Bearer " + joined.Credential}}

	resp, err := anon.Do(ctx, "GET", release.BinaryPath, nil, bearer)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	sum := sha256.Sum256(body)
	h := resp.Header
	if h.Get(release.HeaderSHA256) != hex.EncodeToString(sum[:]) || h.Get(release.HeaderVersion) != server.Version {
		t.Fatalf("headers %v for a body of sha256 %x", h, sum)
	}
	if self, err := os.ReadFile("/proc/self/exe"); err == nil && sha256.Sum256(self) != sum {
		t.Fatal("the body is not the running executable")
	}
	jwks, err := anon.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := release.KeysFromJWKS(jwks)
	if err := release.Verify(keys, h.Get(release.HeaderKid), h.Get(release.HeaderVersion), h.Get(release.HeaderSHA256), h.Get(release.HeaderSignature)); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := release.Verify(keys, h.Get(release.HeaderKid), "other", h.Get(release.HeaderSHA256), h.Get(release.HeaderSignature)); err == nil {
		t.Fatal("signature verifies for another version")
	}

	// Node credential only; another platform is 404.
	status, out, _ := raw(t, anon, "GET", release.BinaryPath, "", nil)
	if status != 401 || out["code"] != "invalid_node_credential" {
		t.Fatalf("no credential: %d %v", status, out)
	}
	status, out, _ = raw(t, anon, "GET", release.BinaryPath, "", http.Header{"Authorization": {"Bearer " + joined.Credential + "x"}})
	if status != 401 {
		t.Fatalf("bad credential: %d %v", status, out)
	}
	userTok, _ := env.As("user")
	if status, _, _ = raw(t, userTok, "GET", release.BinaryPath, "", nil); status != 401 {
		t.Fatalf("a user's token: %d", status)
	}
	status, out, _ = raw(t, anon, "GET", release.BinaryPath+"?platform=plan9/mips", "", bearer)
	if status != 404 || out["code"] != server.CodeNoAgentBinary {
		t.Fatalf("other platform: %d %v", status, out)
	}
	if _, err := admin.AdminRevokeNodeCredentials(ctx, node.Id); err != nil {
		t.Fatal(err)
	}
	if status, _, _ = raw(t, anon, "GET", release.BinaryPath, "", bearer); status != 401 {
		t.Fatalf("revoked credential: %d", status)
	}
}
