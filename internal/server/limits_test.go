package server_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// Spend limits over HTTP: an admin sets them, a create over one is 409
// quota_exceeded naming it and its value, the user reads them with their
// use, and a user cannot set their own.
func TestSpendLimitsOverHTTP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	admin, _ := env.As("admin")
	c, u := env.As("user")

	one := int64(1)
	l, err := admin.AdminSetUserLimits(ctx, u.Id, api.SpendLimitsRequest{MaxConcurrentGpus: &one})
	if err != nil || l.MaxConcurrentGpus == nil || *l.MaxConcurrentGpus != 1 {
		t.Fatalf("set limits: %+v %v", l, err)
	}
	if _, err := c.AdminSetUserLimits(ctx, u.Id, api.SpendLimitsRequest{}); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("a user set limits: %v", err)
	}
	if _, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	var e *sdk.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Code != "quota_exceeded" ||
		e.Details["limit"] != "max_concurrent_gpus" || e.Details["value"] != float64(1) {
		t.Fatalf("second create: %v (%+v)", err, e)
	}
	mine, err := c.SpendLimits(ctx)
	if err != nil || mine.GpusInUse != 1 || *mine.MaxConcurrentGpus != 1 || mine.MaxMonthlySpendMinor != nil || len(mine.Usage) == 0 {
		t.Fatalf("my limits: %+v %v", mine, err)
	}
	if got, err := admin.AdminUserLimits(ctx, u.Id); err != nil || got.GpusInUse != 1 {
		t.Fatalf("admin view: %+v %v", got, err)
	}
	if d, err := c.DailySpend(ctx, 30); err != nil || d.Items == nil {
		t.Fatalf("daily spend: %+v %v", d, err)
	}
	if _, err := c.DailySpend(ctx, 1000); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("days=1000: %v", err)
	}
	p, err := c.SetNotificationPreferences(ctx, []string{"payment.succeeded"})
	if err != nil || p.MailEnabled || len(p.Kinds) != 8 {
		t.Fatalf("preferences: %+v %v", p, err)
	}
	if _, err := c.SetNotificationPreferences(ctx, []string{"nonsense"}); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("unknown kind: %v", err)
	}
}
