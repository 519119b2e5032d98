package server

import (
	"context"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/users"
)

// App is the assembled control plane, handed to Options.BeforeServe.
type App struct {
	Store     *store.Store
	Users     *users.Service
	Inventory *inventory.Service
}

// Options lets `gpuaas dev` and tests hook into start-up.
type Options struct {
	// BeforeServe runs after migrations and key set-up, before listening;
	// `gpuaas dev` seeds demo data here.
	BeforeServe func(ctx context.Context, app *App) error
	// Ready is called once the listener is bound, with the base URL
	// (http://host:port) clients should use.
	Ready func(baseURL string)
}

// Run migrates, starts every configured role and serves until ctx ends.
// cfg must have passed Validate.
func Run(ctx context.Context, cfg config.Server, opts Options) error {
	panic("TODO")
}
