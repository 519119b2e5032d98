package server_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestAllocationConnection checks the read model's connection and
// node_status: an active allocation on a sim node (no agent) shows the
// node's hostname, port 22 and the Linux login the process runtime would
// create; an advertised SSH address replaces them; an offline node is
// flagged; an allocation that is not active has no connection.
func TestAllocationConnection(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	admin, _ := env.As("admin")

	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Connection != nil {
		t.Fatalf("requested allocation has a connection: %+v", a.Connection)
	}
	active := waitStatus(t, c, a.Id, api.AllocationStatusActive)
	node, err := admin.AdminGetNode(ctx, *active.NodeId)
	if err != nil {
		t.Fatal(err)
	}
	user := process.UsernameFor(a.Id)
	wantConnection(t, active, api.Connection{Host: node.Hostname, Port: 22, Username: user,
		SshCommand: "ssh " + user + "@" + node.Hostname})
	wantNodeStatus(t, active, api.NodeStatusOnline)

	// What the node's agent advertises (--ssh-host, --ssh-port) wins.
	exec(t, env, `UPDATE nodes SET ssh_host = 'gpu-b.example.com', ssh_port = 2222 WHERE id = $1`, node.Id)
	got := listed(t, c, a.Id)
	wantConnection(t, got, api.Connection{Host: "gpu-b.example.com", Port: 2222, Username: user,
		SshCommand: "ssh -p 2222 " + user + "@gpu-b.example.com"})
	wantNodeStatus(t, got, api.NodeStatusOnline)

	// A node that missed its heartbeat deadline is flagged on every read.
	exec(t, env, `UPDATE nodes SET status = 'offline' WHERE id = $1`, node.Id)
	got, err = c.GetAllocation(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	wantNodeStatus(t, got, api.NodeStatusOffline)
	wantNodeStatus(t, listed(t, c, a.Id), api.NodeStatusOffline)

	rel, err := c.ReleaseAllocation(ctx, a.Id)
	if err != nil || rel.Status != api.AllocationStatusReleasing || rel.Connection != nil {
		t.Fatalf("release: %+v %v", rel, err)
	}
	done := waitStatus(t, c, a.Id, api.AllocationStatusReleased)
	if done.Connection != nil || listed(t, c, a.Id).Connection != nil {
		t.Fatalf("released allocation has a connection: %+v", done.Connection)
	}
}

func listed(t *testing.T, c *sdk.Client, id uuid.UUID) api.Allocation {
	t.Helper()
	l, err := c.ListAllocations(ctx, api.ListAllocationsParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range l.Items {
		if a.Id == id {
			return a
		}
	}
	t.Fatalf("allocation %s not listed", id)
	return api.Allocation{}
}

func wantConnection(t *testing.T, a api.Allocation, want api.Connection) {
	t.Helper()
	if a.Connection == nil || *a.Connection != want {
		t.Fatalf("%s allocation: connection %+v, want %+v", a.Status, a.Connection, want)
	}
}

func wantNodeStatus(t *testing.T, a api.Allocation, want api.NodeStatus) {
	t.Helper()
	if a.NodeStatus == nil || *a.NodeStatus != want {
		t.Fatalf("node_status %v, want %s", a.NodeStatus, want)
	}
}
