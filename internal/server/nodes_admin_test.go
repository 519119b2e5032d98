package server_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// nodeID finds a seeded node by hostname.
func nodeID(t *testing.T, env *servertest.Env, host string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	must(t, env.App.Store.Pool().QueryRow(ctx, `SELECT id FROM nodes WHERE hostname = $1`, host).Scan(&id))
	return id
}

func TestAdminGetNodeShowsGPUsAndTheirHealth(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	id := nodeID(t, env, "node-a")

	n, err := admin.AdminGetNode(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n.Id != id || n.Hostname != "node-a" || n.Status != api.NodeStatusOnline || len(n.Gpus) != 8 {
		t.Fatalf("node %+v", n)
	}
	bad := n.Gpus[7]
	if bad.Health != api.GPUHealthUnhealthy || bad.HealthReason == nil || *bad.HealthReason != "uncorrected ECC" {
		t.Fatalf("gpu 7: %+v", bad)
	}
	if n.Gpus[0].Health != api.GPUHealthHealthy {
		t.Fatalf("gpu 0: %+v", n.Gpus[0])
	}
	// No agent has connected to a seeded node: no version, no drift.
	if n.AgentVersion == nil || *n.AgentVersion != "" || n.AgentConnectedAt != nil ||
		n.AgentVersionDrift == nil || *n.AgentVersionDrift {
		t.Fatalf("agent fields before any hello: %v %v %v", n.AgentVersion, n.AgentConnectedAt, n.AgentVersionDrift)
	}

	// A disabled node is still shown to an admin.
	if _, err := admin.AdminDisableNode(ctx, nodeID(t, env, "node-c")); err != nil {
		t.Fatal(err)
	}
	if n, err := admin.AdminGetNode(ctx, nodeID(t, env, "node-c")); err != nil || n.AdminState != api.NodeAdminStateDisabled {
		t.Fatalf("disabled node: %+v %v", n, err)
	}

	_, err = admin.AdminGetNode(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	if status, body, _ := raw(t, admin, "GET", "/api/v1/admin/nodes/nope", "", nil); status != 400 {
		t.Fatalf("bad uuid: %d %v", status, body)
	}
	user, _ := env.As("user")
	_, err = user.AdminGetNode(ctx, id)
	wantErr(t, err, 403, "forbidden")
	if status, _, _ := raw(t, env.Client(""), "GET", "/api/v1/admin/nodes/"+id.String(), "", nil); status != 401 {
		t.Fatalf("anonymous: %d", status)
	}
}

func TestAgentHelloShowsVersionAndDrift(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	inv := env.App.Inventory
	id := nodeID(t, env, "node-c") // seeded offline
	at := time.Now().UTC().Truncate(time.Microsecond)

	// The agent runs the control plane's own version: online, no drift.
	must(t, inv.RecordAgentHello(ctx, id, agentproto.Hello{AgentVersion: server.Version}, at))
	n, err := admin.AdminGetNode(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != api.NodeStatusOnline || n.AgentVersion == nil || *n.AgentVersion != server.Version ||
		n.AgentConnectedAt == nil || !n.AgentConnectedAt.Equal(at) ||
		n.LastHeartbeatAt == nil || !n.LastHeartbeatAt.Equal(at) ||
		n.AgentVersionDrift == nil || *n.AgentVersionDrift {
		t.Fatalf("after hello at %v: %+v drift=%v", at, n, deref(n.AgentVersionDrift))
	}

	// An agent on another version reconnects: drift, in the list too.
	later := at.Add(time.Minute)
	must(t, inv.RecordAgentHello(ctx, id, agentproto.Hello{AgentVersion: server.Version + "-old"}, later))
	n, err = admin.AdminGetNode(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if *n.AgentVersion != server.Version+"-old" || !n.AgentConnectedAt.Equal(later) || !*n.AgentVersionDrift {
		t.Fatalf("after second hello: %+v drift=%v", n, deref(n.AgentVersionDrift))
	}
	list, err := admin.AdminListNodes(ctx, api.AdminListNodesParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list.Items {
		if want := l.Id == id; *l.AgentVersionDrift != want {
			t.Fatalf("list: %s drift=%v", l.Hostname, *l.AgentVersionDrift)
		}
	}

	// A hello for a node that does not exist is not found.
	if err := inv.RecordAgentHello(ctx, uuid.New(), agentproto.Hello{AgentVersion: "x"}, at); err == nil {
		t.Fatal("hello for an unknown node was recorded")
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
