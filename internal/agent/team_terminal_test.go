package agent_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/terminal"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestTeamTerminalEndsWhenMemberRemoved: a member's open terminal to the
// team's allocation ends once they are removed from the team (within the
// recheck interval), while the owner's own terminal goes on; the removed
// member cannot open another.
func TestTeamTerminalEndsWhenMemberRemoved(t *testing.T) {
	t.Parallel()
	was := terminal.RecheckInterval
	terminal.RecheckInterval = 100 * time.Millisecond
	t.Cleanup(func() { terminal.RecheckInterval = was })
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env)
	owner, ownerU := env.As("user")
	member, memberU := env.As("user")
	team, err := owner.CreateTeam(ctx, api.CreateTeamRequest{Slug: "lab", Name: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.AddTeamMember(ctx, "lab", api.AddTeamMemberRequest{Username: memberU.Username}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Billing.Adjust(ctx, ownerU.Id, team.Id, 100_000, "grant", "team-terminal"); err != nil {
		t.Fatal(err)
	}
	lab := "lab"
	a, err := member.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1", Team: &lab}, "")
	if err != nil {
		t.Fatal(err)
	}
	a = waitAllocation(t, owner, a, api.AllocationStatusActive)
	open := func(c *sdk.Client) *websocket.Conn {
		t.Helper()
		tok, err := c.MintTerminalToken(ctx, a.Id)
		if err != nil {
			t.Fatal(err)
		}
		ws, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		readTerminal(t, ws, "session_ready")
		return ws
	}
	mine, theirs := open(owner), open(member)

	if err := owner.RemoveTeamMember(ctx, "lab", memberU.Username); err != nil {
		t.Fatal(err)
	}
	// The removed member's session ends: their reads fail within seconds.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if _, _, err := theirs.Read(rctx); err != nil {
			if rctx.Err() != nil {
				t.Fatal("the removed member's terminal is still open 10 s after the removal")
			}
			break
		}
	}
	// The owner's goes on.
	if err := mine.Write(ctx, websocket.MessageBinary, []byte("exit 4\n")); err != nil {
		t.Fatal(err)
	}
	if m, _ := readTerminal(t, mine, "session_closed"); m["exit_code"] != float64(4) {
		t.Fatalf("the owner's session ended with %v", m)
	}
	// And the removed member cannot mint another token.
	if _, err := member.MintTerminalToken(ctx, a.Id); err == nil {
		t.Fatal("a removed member minted a terminal token")
	} else if e, ok := sdk.AsError(err); !ok || e.Status != http.StatusNotFound {
		t.Fatalf("a removed member's mint: %v, want 404", err)
	}
}
