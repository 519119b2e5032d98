package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, api.Health{Status: api.HealthStatusOk})
}

// readyz checks every configured dependency in parallel, each within a
// short deadline, and names the ones that fail.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]func(context.Context) error{
		"postgres": a.Store.Ping,
	}
	if a.Redis != nil {
		checks["redis"] = func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }
	}
	if a.NATS != nil {
		checks["nats"] = func(ctx context.Context) error {
			if !a.NATS.IsConnected() {
				return errors.New("not connected")
			}
			return a.NATS.FlushWithContext(ctx)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := map[string]string{}
	healthy := true
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := "ok"
			if err := check(ctx); err != nil {
				res = "unavailable"
			}
			mu.Lock()
			results[name] = res
			healthy = healthy && res == "ok"
			mu.Unlock()
		}()
	}
	wg.Wait()
	body := api.Health{Status: api.HealthStatusOk, Checks: &results}
	status := http.StatusOK
	if !healthy {
		body.Status, status = api.HealthStatusUnavailable, http.StatusServiceUnavailable
	}
	httpapi.WriteJSON(w, status, body)
}
