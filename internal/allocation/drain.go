package allocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// DrainReasonPrefix starts the release reason of an allocation released
// because its node's drain reached its deadline.
const DrainReasonPrefix = "maintenance: "

// ReleaseDueDrains force-releases what still runs on nodes whose drain
// deadline has passed, with reason "maintenance: <the drain's reason>" and
// the release request dated at the deadline, so the charge ends there
// however late this runs (after a control-plane outage, say). It answers
// how many it released; safe to run on several replicas at once (a
// release that lost the race is skipped).
func (s *Service) ReleaseDueDrains(ctx context.Context) (int, error) {
	rows, err := s.store.ListDueDrains(ctx, 200)
	if err != nil {
		return 0, fmt.Errorf("list due drains: %w", err)
	}
	released := 0
	for _, r := range rows {
		if r.DrainDeadline == nil {
			continue
		}
		err := s.ForceReleaseAt(ctx, r.AllocationID, DrainReasonPrefix+r.DrainReason, *r.DrainDeadline)
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindConflict {
			continue // released meanwhile by its owner, an admin or another replica
		}
		if err != nil {
			return released, fmt.Errorf("release %s at its node's drain deadline: %w", r.AllocationID, err)
		}
		released++
		slog.Info("drain deadline: allocation released", "allocation_id", r.AllocationID, "node_id", r.NodeID,
			"deadline", r.DrainDeadline.UTC().Format(time.RFC3339))
	}
	return released, nil
}

// RunDrainSweeper calls ReleaseDueDrains every interval until ctx ends.
func (s *Service) RunDrainSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ReleaseDueDrains(ctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("drain sweeper", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
