package allocation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// AppTarget is where one port of an allocation's workload is served: what
// the app proxy needs to decide who may reach it and how.
type AppTarget struct {
	OwnerID uuid.UUID
	// OwnerActive is false once the owner is suspended or deleted.
	OwnerActive bool
	Status      Status
	NodeID      uuid.UUID
	Launchable  string
	Port        int
	// Token is the app token the platform generated for the workload
	// (the launchable's token_env), opened; empty when it has none.
	Token string
}

// AppTarget resolves port name of allocation id. An allocation that does
// not exist, is not a container, or has no such port is 404; who may use
// it is the caller's to check against OwnerID.
func (s *Service) AppTarget(ctx context.Context, id uuid.UUID, name string, tokenEnv func(launchable string) string) (AppTarget, error) {
	row, err := s.store.GetAppTarget(ctx, id)
	if store.IsNoRows(err) {
		return AppTarget{}, apperr.NotFound("allocation")
	}
	if err != nil {
		return AppTarget{}, fmt.Errorf("get app target: %w", err)
	}
	t := AppTarget{OwnerID: row.UserID, OwnerActive: row.OwnerActive, Status: Status(row.Status), NodeID: row.NodeID.UUID}
	if row.Runtime != RuntimeDocker || len(row.Workload) == 0 {
		return t, apperr.NotFound("app")
	}
	var spec Spec
	if err := json.Unmarshal(row.Workload, &spec); err != nil {
		return t, fmt.Errorf("read the allocation's workload: %w", err)
	}
	t.Launchable = spec.Launchable
	for _, p := range spec.Ports {
		if p.Name == name {
			t.Port = p.Port
		}
	}
	if t.Port == 0 {
		return t, apperr.NotFound("app")
	}
	if env := tokenEnv(spec.Launchable); env != "" && spec.SealedEnv[env] != nil && s.cfg.Secrets != nil {
		v, err := s.cfg.Secrets.Open(spec.SealedEnv[env], envAAD(env))
		if err != nil {
			return t, fmt.Errorf("open the app token: %w", err)
		}
		t.Token = string(v)
	}
	return t, nil
}

// appsView lists a container's ports as apps behind the proxy.
func appsView(r db.Allocation, spec *Spec) []api.AllocationApp {
	apps := []api.AllocationApp{}
	if spec == nil {
		return apps
	}
	for _, p := range spec.Ports {
		apps = append(apps, api.AllocationApp{Name: p.Name, Port: p.Port, Url: AppPath(r.ID, p.Name) + "/",
			Ready: AppReady(r, p.Name)})
	}
	return apps
}

// AppPath is where the proxy serves port name of allocation id (without
// the trailing slash).
func AppPath(id uuid.UUID, name string) string { return "/apps/" + id.String() + "/" + name }

// MayActFor reports whether caller may use account's allocations: account
// is them, or a team they are in.
func (s *Service) MayActFor(ctx context.Context, account, caller uuid.UUID) (bool, error) {
	if account == caller {
		return true, nil
	}
	ok, err := s.store.MayActFor(ctx, db.MayActForParams{Account: account, Caller: caller})
	if err != nil {
		return false, fmt.Errorf("check team membership: %w", err)
	}
	return ok, nil
}
