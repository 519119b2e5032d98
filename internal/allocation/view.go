package allocation

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Node is what the read model shows of an allocation's node.
type Node struct {
	Hostname string
	Status   string // online or offline
	SSHHost  string // empty: Hostname
	SSHPort  int    // 0: 22
	// DrainDeadline is set while the node drains for maintenance: when
	// what still runs there is force-released, for DrainReason.
	DrainDeadline *time.Time
	DrainReason   string
}

// nodeView is the node columns of a read query's LEFT JOIN, nil when the
// allocation has no node.
func nodeView(hostname, status, sshHost *string, sshPort pgtype.Int4, drainDeadline *time.Time, drainReason *string) *Node {
	if hostname == nil || status == nil {
		return nil
	}
	n := &Node{Hostname: *hostname, Status: *status, SSHPort: int(sshPort.Int32), DrainDeadline: drainDeadline}
	if sshHost != nil {
		n.SSHHost = *sshHost
	}
	if drainReason != nil {
		n.DrainReason = *drainReason
	}
	return n
}

// ToAPIOnNode renders an allocation row with its node's status, the node's
// drain deadline and reason while it drains and the allocation still holds
// it, and, while the allocation is active, how to log in to it: the node's
// advertised SSH address and the Linux user its runtime created. Without an
// agent (the in-process sim runtime) the node advertises nothing, so the
// connection reads as its hostname and port 22.
func ToAPIOnNode(r db.Allocation, n *Node) api.Allocation {
	a := ToAPI(r)
	if n == nil {
		return a
	}
	st := api.NodeStatus(n.Status)
	a.NodeStatus = &st
	if n.DrainDeadline != nil && !Status(r.Status).Terminal() {
		deadline, reason := *n.DrainDeadline, n.DrainReason
		a.NodeDrainDeadline, a.NodeDrainReason = &deadline, &reason
	}
	if Status(r.Status) == StatusActive && r.Runtime != RuntimeDocker {
		a.Connection = connection(r.ID, *n)
	}
	return a
}

func connection(id uuid.UUID, n Node) *api.Connection {
	host, port := n.SSHHost, n.SSHPort
	if host == "" {
		host = n.Hostname
	}
	if port == 0 {
		port = 22
	}
	user := agentproto.UsernameFor(id)
	cmd := "ssh " + user + "@" + host
	if port != 22 {
		cmd = fmt.Sprintf("ssh -p %d %s@%s", port, user, host)
	}
	return &api.Connection{Host: host, Port: port, Username: user, SshCommand: cmd}
}

// workloadView is what the allocation runs, as its owner asked, without
// secrets: sealed variables and secret params are never shown.
func workloadView(r db.Allocation, spec *Spec) *api.AllocationWorkload {
	w := &api.AllocationWorkload{Launchable: "shell", Runtime: api.AllocationWorkloadRuntime(r.Runtime)}
	if spec == nil {
		return w
	}
	w.Launchable = spec.Launchable
	if spec.Image != "" {
		w.Image = &spec.Image
	}
	if len(spec.Command) > 0 {
		w.Command = &spec.Command
	}
	if len(spec.Env) > 0 {
		w.Env = &spec.Env
	}
	if len(spec.Params) > 0 {
		w.Params = &spec.Params
	}
	if len(spec.Ports) > 0 {
		ports := make([]api.WorkloadPort, len(spec.Ports))
		for i, p := range spec.Ports {
			proto := api.WorkloadPortProtocolHttp
			if p.Protocol == string(api.WorkloadPortProtocolTcp) {
				proto = api.WorkloadPortProtocolTcp
			}
			ports[i] = api.WorkloadPort{Name: p.Name, Port: p.Port, Protocol: &proto}
		}
		w.Ports = &ports
	}
	return w
}

// ToAPI renders an allocation row without its node (see ToAPIOnNode).
func ToAPI(r db.Allocation) api.Allocation {
	var gpus []api.AllocationGPU
	if err := json.Unmarshal(r.Gpus, &gpus); err != nil {
		slog.Warn("allocation gpus unreadable", "allocation_id", r.ID, "err", err)
	}
	if gpus == nil {
		gpus = []api.AllocationGPU{}
	}
	a := api.Allocation{
		Id: r.ID, UserId: r.UserID, Name: r.Name, Status: api.AllocationStatus(r.Status),
		DesiredState: api.AllocationDesiredState(r.DesiredState), SkuId: r.SkuID, Gpus: gpus,
		GpuCount: int(r.GpuCount), PricePerHourMinor: r.PricePerHourMinor, Currency: r.Currency,
		FailureReason: r.FailureReason, ReleaseReason: r.ReleaseReason,
		Attempts: int(r.Attempts), LastError: r.LastError, ReleaseRequestedAt: r.ReleaseRequestedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ActiveAt: r.ActiveAt, ReleasedAt: r.ReleasedAt,
	}
	if r.NodeID.Valid {
		id := r.NodeID.UUID
		a.NodeId = &id
	}
	if r.SshKeyIds != nil {
		ids := append([]uuid.UUID{}, r.SshKeyIds...)
		a.SshKeyIds = &ids
	}
	if r.CreatedBy.Valid {
		by := r.CreatedBy.UUID
		a.CreatedBy = &by
		if by != r.UserID { // launched by a member for their team
			team := r.UserID
			a.TeamId = &team
		}
	}
	var spec *Spec
	if len(r.Workload) > 0 {
		spec = new(Spec)
		if err := json.Unmarshal(r.Workload, spec); err != nil {
			slog.Warn("allocation workload unreadable", "allocation_id", r.ID, "err", err)
			spec = nil
		}
	}
	a.Workload = workloadView(r, spec)
	apps := appsView(r, spec)
	a.Apps = &apps
	return a
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
