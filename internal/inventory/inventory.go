package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Service manages the inventory.
type Service struct {
	store  *store.Store
	naming events.Naming
	// desiredAgentVersion is what every node's agent should run: the
	// control plane's own version. Empty means no drift is ever reported.
	desiredAgentVersion string
}

// Option tunes a Service.
type Option func(*Service)

// WithDesiredAgentVersion sets the agent version nodes are compared with
// (the control plane's own), so the read model can show drift.
func WithDesiredAgentVersion(v string) Option {
	return func(s *Service) { s.desiredAgentVersion = v }
}

// New returns a Service over st.
func New(st *store.Store, opts ...Option) *Service {
	s := &Service{store: st}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ListSKUs returns up to limit active SKUs after the id afterID ("" for the
// first page), with their free capacity, and the next page's cursor ("" at
// the end).
func (s *Service) ListSKUs(ctx context.Context, afterID string, limit int) ([]api.SKU, string, error) {
	p := db.ListActiveSKUsParams{PageLimit: int32(limit + 1)}
	if afterID != "" {
		p.CursorID = &afterID
	}
	rows, err := s.store.ListActiveSKUs(ctx, p)
	if err != nil {
		return nil, "", fmt.Errorf("list skus: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]api.SKU, len(rows))
	for i, r := range rows {
		out[i] = api.SKU{
			Id: r.ID, Name: r.Name, GpuModel: r.GpuModel, GpuCount: int(r.GpuCount),
			GpuMemoryMib: int(r.GpuMemoryMib), Vcpu: int(r.Vcpu), MemoryMib: r.MemoryMib,
			DiskGib: int(r.DiskGib), PricePerHourMinor: r.PricePerHourMinor, Currency: r.Currency,
			Region: r.Region, Active: r.Active, Available: int(r.Available),
		}
	}
	return out, next, nil
}

// NodeFilter narrows ListNodes.
type NodeFilter struct {
	Status     string // "" for any
	Region     string
	AdminState string
	// Search is a case-insensitive substring of the hostname; surrounding
	// spaces are ignored.
	Search string
	// ExcludeDisabled hides disabled nodes (the users' view).
	ExcludeDisabled bool
}

// MaxSearchLength is the longest node search text, in characters.
const MaxSearchLength = 100

func (f *NodeFilter) validate() error {
	f.Search = strings.TrimSpace(f.Search)
	if !utf8.ValidString(f.Search) || utf8.RuneCountInString(f.Search) > MaxSearchLength {
		return apperr.Invalid("q must be valid text of at most %d characters", MaxSearchLength)
	}
	if f.Status != "" && !api.NodeStatus(f.Status).Valid() {
		return apperr.Invalid("status must be online or offline")
	}
	if f.AdminState != "" && !api.NodeAdminState(f.AdminState).Valid() {
		return apperr.Invalid("admin_state must be active, maintenance or disabled")
	}
	return nil
}

// ListNodes returns up to limit nodes after hostname afterHost, ordered by
// hostname, with their GPUs, and the next page's cursor.
func (s *Service) ListNodes(ctx context.Context, f NodeFilter, afterHost string, limit int) ([]api.Node, string, error) {
	if err := f.validate(); err != nil {
		return nil, "", err
	}
	p := db.ListNodesParams{PageLimit: int32(limit + 1), ExcludeDisabled: f.ExcludeDisabled}
	p.Status, p.Region, p.AdminState = optional(f.Status), optional(f.Region), optional(f.AdminState)
	p.Search, p.CursorHostname = optional(f.Search), optional(afterHost)
	rows, err := s.store.ListNodes(ctx, p)
	if err != nil {
		return nil, "", fmt.Errorf("list nodes: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].Hostname
	}
	nodes, err := s.withGPUs(ctx, s.store, rows)
	return nodes, next, err
}

// GetNode returns one node with its GPUs.
func (s *Service) GetNode(ctx context.Context, id uuid.UUID) (api.Node, error) {
	n, err := s.store.GetNode(ctx, id)
	if store.IsNoRows(err) {
		return api.Node{}, apperr.NotFound("node")
	}
	if err != nil {
		return api.Node{}, fmt.Errorf("get node: %w", err)
	}
	return s.render(ctx, s.store, n)
}

// render is withGPUs for one node.
func (s *Service) render(ctx context.Context, q *store.Store, n db.Node) (api.Node, error) {
	out, err := s.withGPUs(ctx, q, []db.Node{n})
	if err != nil {
		return api.Node{}, err
	}
	return out[0], nil
}

// withGPUs loads the GPUs of rows in one query and renders the nodes.
func (s *Service) withGPUs(ctx context.Context, q *store.Store, rows []db.Node) ([]api.Node, error) {
	ids := make([]uuid.UUID, len(rows))
	for i, n := range rows {
		ids[i] = n.ID
	}
	gpus, err := q.ListGPUsByNodes(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list gpus: %w", err)
	}
	byNode := map[uuid.UUID][]api.GPU{}
	for _, g := range gpus {
		reason := g.HealthReason
		byNode[g.NodeID] = append(byNode[g.NodeID], api.GPU{
			Index: int(g.Idx), Uuid: g.Uuid, Model: g.Model, MemoryMib: int(g.MemoryMib),
			Health: api.GPUHealth(g.Health), HealthReason: &reason, Allocated: g.AllocationID.Valid,
		})
	}
	out := make([]api.Node, len(rows))
	for i, n := range rows {
		labels := map[string]string{}
		_ = json.Unmarshal(n.Labels, &labels) // written by us from a map; cannot be malformed
		g := byNode[n.ID]
		if g == nil {
			g = []api.GPU{}
		}
		out[i] = api.Node{
			Id: n.ID, Hostname: n.Hostname, Region: n.Region, Labels: labels,
			Status: api.NodeStatus(n.Status), AdminState: api.NodeAdminState(n.AdminState),
			LastHeartbeatAt: n.LastHeartbeatAt, Gpus: g, CreatedAt: n.CreatedAt,
			AgentVersion: &n.AgentVersion, AgentConnectedAt: n.AgentConnectedAt,
			AgentVersionDrift: ptr(s.drift(n.AgentVersion)),
			SshHost:           ptr(n.SshHost), SshPort: ptr(int(n.SshPort)),
			DrainDeadline: n.DrainDeadline, DrainReason: optional(n.DrainReason),
		}
	}
	return out, nil
}

var (
	hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
)

// Limits on node labels.
const (
	maxLabels      = 32
	maxLabelValue  = 255
	maxHostnameLen = 253
)

func validateNode(req *api.CreateNodeRequest) error {
	req.Hostname = strings.ToLower(strings.TrimSpace(req.Hostname))
	if len(req.Hostname) > maxHostnameLen || !hostnameRE.MatchString(req.Hostname) {
		return apperr.Invalid("hostname must be a DNS name (a-z, 0-9, '-' and '.'), at most 253 characters")
	}
	if req.Region == "" {
		return apperr.Invalid("region is required")
	}
	if req.Labels != nil {
		if len(*req.Labels) > maxLabels {
			return apperr.Invalid("at most %d labels", maxLabels)
		}
		for k, v := range *req.Labels {
			if !labelKeyRE.MatchString(k) {
				return apperr.Invalid("label key %q must be 1 to 63 characters of A-Z a-z 0-9 . _ / -", truncate(k, 70))
			}
			if len(v) > maxLabelValue {
				return apperr.Invalid("label %q value is longer than %d bytes", k, maxLabelValue)
			}
		}
	}
	return nil
}

// CreateNode registers a node, offline until its agent connects. A duplicate
// hostname is 409 duplicate_hostname; an unknown region is 400.
func (s *Service) CreateNode(ctx context.Context, actor uuid.UUID, req api.CreateNodeRequest) (api.Node, error) {
	if err := validateNode(&req); err != nil {
		return api.Node{}, err
	}
	labels := map[string]string{}
	if req.Labels != nil {
		labels = *req.Labels
	}
	rawLabels, _ := json.Marshal(labels)
	var node api.Node
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.GetRegion(ctx, req.Region); store.IsNoRows(err) {
			return apperr.InvalidCode("unknown_region", "region %q does not exist", truncate(req.Region, 70))
		} else if err != nil {
			return err
		}
		n, err := tx.CreateNode(ctx, db.CreateNodeParams{
			Hostname: req.Hostname, Region: req.Region, Labels: rawLabels, Status: string(api.NodeStatusOffline),
		})
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionNodeCreated, TargetType: "node", TargetID: n.ID.String(),
			Metadata: map[string]any{"hostname": n.Hostname, "region": n.Region},
		}); err != nil {
			return err
		}
		node, err = s.render(ctx, tx, n)
		return err
	})
	if store.IsUniqueViolation(err, "nodes_hostname_key") {
		return api.Node{}, apperr.Conflict("duplicate_hostname", "a node named %q exists", req.Hostname)
	}
	if err != nil {
		return api.Node{}, fmt.Errorf("create node: %w", err) // typed errors stay visible to apperr.As
	}
	return node, nil
}

// DisableNode sets admin_state=disabled; it is refused with 409 node_in_use
// while any of its GPUs is allocated. Disabling a disabled node changes
// nothing and writes no audit row.
func (s *Service) DisableNode(ctx context.Context, actor uuid.UUID, id uuid.UUID) (api.Node, error) {
	return s.setAdminState(ctx, actor, id, api.NodeAdminStateDisabled)
}

// EnableNode sets admin_state=active.
func (s *Service) EnableNode(ctx context.Context, actor uuid.UUID, id uuid.UUID) (api.Node, error) {
	return s.setAdminState(ctx, actor, id, api.NodeAdminStateActive)
}

func (s *Service) setAdminState(ctx context.Context, actor, id uuid.UUID, to api.NodeAdminState) (api.Node, error) {
	action := audit.ActionNodeEnabled
	if to == api.NodeAdminStateDisabled {
		action = audit.ActionNodeDisabled
	}
	var node api.Node
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		n, err := tx.GetNodeForUpdate(ctx, id)
		if store.IsNoRows(err) {
			return apperr.NotFound("node")
		}
		if err != nil {
			return err
		}
		if n.AdminState == string(api.NodeAdminStateDecommissioned) {
			return apperr.Conflict("invalid_state", "node is decommissioned; register the host again as a new node")
		}
		if n.AdminState != string(to) {
			if to == api.NodeAdminStateDisabled {
				inUse, err := tx.CountNodeGPUsInUse(ctx, id)
				if err != nil {
					return err
				}
				if inUse > 0 {
					return apperr.Conflict("node_in_use", "node has %d allocated GPUs; release them first", inUse)
				}
			}
			from := n.AdminState
			if n, err = tx.SetNodeAdminState(ctx, db.SetNodeAdminStateParams{ID: id, AdminState: string(to)}); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx.Queries, audit.Entry{
				Actor: actor, Action: action, TargetType: "node", TargetID: id.String(),
				Metadata: map[string]any{"admin_state_from": from, "admin_state_to": string(to)},
			}); err != nil {
				return err
			}
		}
		node, err = s.render(ctx, tx, n)
		return err
	})
	if err != nil {
		return api.Node{}, fmt.Errorf("set node %s admin_state: %w", to, err)
	}
	return node, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
