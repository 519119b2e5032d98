package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// RecordAgentHello notes that nodeID's agent, running agentVersion, has just
// connected: it stamps the version and the connection time and marks the
// node online. It runs once per connection, not per heartbeat, and is one
// row update. An unknown node is a not-found error.
func (s *Service) RecordAgentHello(ctx context.Context, nodeID uuid.UUID, agentVersion string, at time.Time) error {
	n, err := s.store.RecordAgentHello(ctx, db.RecordAgentHelloParams{ID: nodeID, AgentVersion: agentVersion, At: &at})
	if err != nil {
		return fmt.Errorf("record agent hello: %w", err)
	}
	if n == 0 {
		return apperr.NotFound("node")
	}
	return nil
}

// drift reports whether an agent that said it runs version v is not on the
// desired version. A node whose agent never connected has no version and
// so no drift; neither does a control plane that does not know its own.
func (s *Service) drift(v string) bool {
	return v != "" && s.desiredAgentVersion != "" && v != s.desiredAgentVersion
}

func ptr[T any](v T) *T { return &v }
