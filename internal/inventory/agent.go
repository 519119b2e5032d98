package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// RecordAgentHello notes that nodeID's agent, running agentVersion, has just
// connected: it stamps the version, the connection time and the SSH address
// the agent advertises (empty host: the node's hostname; port 0: 22), and
// marks the node online. It runs once per connection, not per heartbeat,
// and is one row update. An unknown node is a not-found error; an address
// that is not a host name or IP and a port is invalid.
func (s *Service) RecordAgentHello(ctx context.Context, nodeID uuid.UUID, agentVersion string, sshHost string, sshPort int, at time.Time) error {
	if err := agentproto.CheckSSHAddress(sshHost, sshPort); err != nil {
		return apperr.Invalid("%v", err)
	}
	if sshPort == 0 {
		sshPort = 22
	}
	n, err := s.store.RecordAgentHello(ctx, db.RecordAgentHelloParams{ID: nodeID, AgentVersion: agentVersion,
		SshHost: sshHost, SshPort: int32(sshPort), At: &at})
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
