package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/internal/events"
)

// Retention of the stream: long enough for a consumer to be down over a
// holiday weekend and catch up; the outbox table, not the stream, is the
// record.
const (
	StreamMaxAge      = 7 * 24 * time.Hour
	DuplicateWindow   = 2 * time.Minute
	defaultPublishTTL = 10 * time.Second
)

// EnsureStream creates the events stream for n, or updates it to this
// configuration. The duplicate window is what makes a relay's republish
// after a crash harmless: it must outlast the time a relay takes to retry.
func EnsureStream(ctx context.Context, js jetstream.JetStream, n events.Naming) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       n.Stream(),
		Subjects:   []string{n.AllSubjects()},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     StreamMaxAge,
		Duplicates: DuplicateWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", n.Stream(), err)
	}
	return s, nil
}
