package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// addKey adds a fresh key for c and returns it with its authorized_keys
// line as stored.
func addKey(t *testing.T, c *sdk.Client, name string) api.SSHKey {
	t.Helper()
	line, _ := newPubKey(t, name)
	k, err := c.AddSSHKey(ctx, name, line)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// eventuallyKeys waits until the sim runtime holds exactly want for id.
func eventuallyKeys(t *testing.T, sim *allocation.Sim, id uuid.UUID, want []api.SSHKey, what string) {
	t.Helper()
	lines := make([]string, len(want))
	for i, k := range want {
		lines[i] = k.PublicKey
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ok := sim.Keys(id)
		if ok && slices.Equal(got, lines) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: allocation %s holds %q (set %v), want %q", what, id, got, ok, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Keys added or deleted while allocations run reach them within seconds;
// an allocation made with ssh_key_ids keeps to those keys; another user's
// key id is refused.
func TestSSHKeyChangesReachRunningAllocations(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	sim, ok := env.App.Runtime.(*allocation.Sim)
	if !ok {
		t.Fatalf("runtime %T, want the sim", env.App.Runtime)
	}
	c, _ := env.As("user")
	k1, k2 := addKey(t, c, "one"), addKey(t, c, "two")

	all := createAllocWith(t, c)
	waitStatus(t, c, all, api.AllocationStatusActive)
	eventuallyKeys(t, sim, all, []api.SSHKey{k1, k2}, "at activation")
	picked, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", SshKeyIds: &[]uuid.UUID{k2.Id, k2.Id}}, uuid.NewString())
	if err != nil || picked.SshKeyIds == nil || len(*picked.SshKeyIds) != 1 || (*picked.SshKeyIds)[0] != k2.Id {
		t.Fatalf("create with ssh_key_ids: %+v %v", picked, err)
	}
	waitStatus(t, c, picked.Id, api.AllocationStatusActive)
	eventuallyKeys(t, sim, picked.Id, []api.SSHKey{k2}, "picked, at activation")

	k3 := addKey(t, c, "three")
	eventuallyKeys(t, sim, all, []api.SSHKey{k1, k2, k3}, "after adding a key")
	if err := c.DeleteSSHKey(ctx, k1.Id); err != nil {
		t.Fatal(err)
	}
	eventuallyKeys(t, sim, all, []api.SSHKey{k2, k3}, "after deleting a key")
	if err := c.DeleteSSHKey(ctx, k2.Id); err != nil {
		t.Fatal(err)
	}
	eventuallyKeys(t, sim, picked.Id, []api.SSHKey{}, "picked, after deleting its key")
	eventuallyKeys(t, sim, all, []api.SSHKey{k3}, "after deleting another")

	// Another user's key, or none at all.
	other, _ := env.As("user")
	theirs := addKey(t, other, "theirs")
	_, err = c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", SshKeyIds: &[]uuid.UUID{k3.Id, theirs.Id}}, uuid.NewString())
	wantErr(t, err, http.StatusBadRequest, allocation.CodeUnknownSSHKey)
	none, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", SshKeyIds: &[]uuid.UUID{}}, uuid.NewString())
	if err != nil || none.SshKeyIds == nil || len(*none.SshKeyIds) != 0 {
		t.Fatalf("create with no keys: %+v %v", none, err)
	}
	waitStatus(t, c, none.Id, api.AllocationStatusActive)
	eventuallyKeys(t, sim, none.Id, []api.SSHKey{}, "no keys")
	if got, err := c.GetAllocation(ctx, all); err != nil || got.SshKeyIds != nil {
		t.Fatalf("an allocation made without ssh_key_ids shows %+v %v", got.SshKeyIds, err)
	}
}
