package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Retention is how long samples are kept.
const Retention = 24 * time.Hour

// hoursAhead is how many hourly partitions exist ahead of now after a
// retention run: samples keep landing for that long even if the job stops.
const hoursAhead = 6

// RetentionEvery is how often RunRetention runs.
const RetentionEvery = 10 * time.Minute

// prepare creates the partitions from the hour of from for hoursAhead hours.
func prepare(ctx context.Context, st *store.Store, from time.Time) (int32, error) {
	n, err := st.PrepareGPUSamplePartitions(ctx, db.PrepareGPUSamplePartitionsParams{FromT: from.Add(-time.Hour), Hours: hoursAhead + 1})
	if err != nil {
		return 0, fmt.Errorf("create gpu sample partitions: %w", err)
	}
	return n, nil
}

// RetainOnce makes the partitions for the hours ahead of now and drops
// those whose hour ended more than Retention before now; it returns how
// many it created and dropped. A sample is gone at most an hour after it
// passed the retention, and readers never ask for more than Retention.
func RetainOnce(ctx context.Context, st *store.Store, now time.Time) (created, dropped int, err error) {
	c, err := prepare(ctx, st, now)
	if err != nil {
		return 0, 0, err
	}
	d, err := st.DropGPUSamplePartitionsBefore(ctx, now.Add(-Retention))
	if err != nil {
		return int(c), 0, fmt.Errorf("drop old gpu sample partitions: %w", err)
	}
	return int(c), int(d), nil
}

// RunRetention runs RetainOnce at once and then every RetentionEvery until
// ctx ends.
func RunRetention(ctx context.Context, st *store.Store) error {
	t := time.NewTicker(RetentionEvery)
	defer t.Stop()
	for {
		created, dropped, err := RetainOnce(ctx, st, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			slog.Warn("gpu sample retention", "err", err)
		case dropped > 0 || created > 0:
			slog.Info("gpu sample retention", "partitions_created", created, "partitions_dropped", dropped)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
