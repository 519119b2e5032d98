package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestTerminalTokenMint(t *testing.T) {
	t.Parallel()
	// A slow sim keeps the allocation requested/provisioning, then
	// releasing, long enough to be asked.
	env := servertest.Start(t, func(c *config.Server) { c.SimDelay = time.Second })
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, u := env.As("user")
	other, _ := env.As("user")

	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.MintTerminalToken(ctx, a.Id) // requested or provisioning
	wantErr(t, err, 409, "invalid_state")
	waitStatus(t, c, a.Id, api.AllocationStatusActive)

	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, "gpt_") || len(tok.Token) != 47 {
		t.Fatalf("token %q", tok.Token)
	}
	if d := time.Until(tok.ExpiresAt); d < 4*time.Minute || d > 5*time.Minute+5*time.Second {
		t.Fatalf("expires in %v, want about 5m", d)
	}
	tok2, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil || tok2.Token == tok.Token {
		t.Fatalf("second mint: %v (same token: %v)", err, tok2.Token == tok.Token)
	}

	_, err = other.MintTerminalToken(ctx, a.Id)
	wantErr(t, err, 404, "not_found")
	_, err = c.MintTerminalToken(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	anon, err := env.HTTPClient().Post(env.URL+"/api/v1/allocations/"+a.Id.String()+"/terminal-token", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d, want 401", anon.StatusCode)
	}

	_, pair := env.Login(u)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+"/api/v1/allocations/not-a-uuid/terminal-token", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad uuid: %d, want 400", resp.StatusCode)
	}

	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	_, err = c.MintTerminalToken(ctx, a.Id)
	wantErr(t, err, 409, "invalid_state")
	waitStatus(t, c, a.Id, api.AllocationStatusReleased)
	_, err = c.MintTerminalToken(ctx, a.Id)
	wantErr(t, err, 409, "invalid_state")
}
