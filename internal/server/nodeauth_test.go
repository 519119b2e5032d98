package server_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestJoinTokenTradesOnceForACredential(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "gpu-new-01", Region: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil || jt.NodeId != node.Id || jt.Token == "" {
		t.Fatalf("issue: %+v %v", jt, err)
	}
	anon := env.Client("")
	joined, err := anon.AgentJoin(ctx, jt.Token)
	if err != nil || joined.NodeId != node.Id || joined.Credential == "" {
		t.Fatalf("join: %+v %v", joined, err)
	}
	got, err := env.App.NodeAuth.Authenticate(ctx, joined.Credential)
	if err != nil || got != node.Id {
		t.Fatalf("authenticate: %v %v", got, err)
	}
	_, err = anon.AgentJoin(ctx, jt.Token)
	wantErr(t, err, 401, "join_token_used")

	// An expired token is refused with its own code.
	jt2, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, env, `UPDATE node_join_tokens SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL`)
	_, err = anon.AgentJoin(ctx, jt2.Token)
	wantErr(t, err, 401, "join_token_expired")
	_, err = anon.AgentJoin(ctx, "gpj_forged")
	wantErr(t, err, 401, "invalid_join_token")
	_, err = anon.AgentJoin(ctx, "not even a token")
	wantErr(t, err, 401, "invalid_join_token")
	status, body, _ := raw(t, anon, "POST", "/api/v1/agent/join", `{"join_token":""}`, nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("empty token: %d %v", status, body)
	}
	status, _, _ = raw(t, anon, "POST", "/api/v1/agent/join", `{"token":"x"}`, nil)
	if status != 400 {
		t.Fatalf("unknown field: %d", status)
	}

	// Revoking ends the credential; a forged or altered one never worked.
	r, err := admin.AdminRevokeNodeCredentials(ctx, node.Id)
	if err != nil || r.Revoked != 1 {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	for _, cred := range []string{joined.Credential, joined.Credential + "x", "gpn_" + uuid.NewString() + ".abc", "garbage"} {
		if _, err := env.App.NodeAuth.Authenticate(ctx, cred); err == nil {
			t.Fatalf("credential %q still authenticates", cred)
		}
	}

	// Admin only, valid node ids only.
	user, _ := env.As("user")
	_, err = user.AdminIssueJoinToken(ctx, node.Id)
	wantErr(t, err, 403, "forbidden")
	_, err = admin.AdminIssueJoinToken(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	if status, _, _ := raw(t, admin, "POST", "/api/v1/admin/nodes/nope/join-token", "", nil); status != 400 {
		t.Fatalf("bad uuid: %d", status)
	}
	logs, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{TargetId: ptr(node.Id.String())})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, l := range logs.Items {
		actions = append(actions, l.Action)
	}
	want := "node.credentials_revoke node.join_token_issue node.join node.join_token_issue node.create"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("audit %q, want %q", got, want)
	}
}

// TestNewJoinTokenRevokesOlderAndRejoinReplacesCredential: issuing a join
// token leaves the node only that one to join with, and a re-join leaves the
// node only its newest credential.
func TestNewJoinTokenRevokesOlderAndRejoinReplacesCredential(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	anon := env.Client("")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "gpu-rejoin-01", Region: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	old, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	first, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.AgentJoin(ctx, old.Token)
	wantErr(t, err, 401, "join_token_revoked")
	joined1, err := anon.AgentJoin(ctx, first.Token)
	if err != nil {
		t.Fatalf("join with the newest token: %v", err)
	}

	second, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	joined2, err := anon.AgentJoin(ctx, second.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.NodeAuth.Authenticate(ctx, joined1.Credential); err == nil {
		t.Fatal("the credential of the first join still authenticates after a re-join")
	}
	if got, err := env.App.NodeAuth.Authenticate(ctx, joined2.Credential); err != nil || got != node.Id {
		t.Fatalf("the new credential: %v %v", got, err)
	}
	r, err := admin.AdminRevokeNodeCredentials(ctx, node.Id)
	if err != nil || r.Revoked != 1 {
		t.Fatalf("revoke after a re-join: %+v %v, want exactly one live credential", r, err)
	}
}
