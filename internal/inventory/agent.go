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
//
// It also records the runtimes the agent offers (Hello.Runtimes; an older
// agent that names none offers process), which placement reads.
func (s *Service) RecordAgentHello(ctx context.Context, nodeID uuid.UUID, h agentproto.Hello, at time.Time) error {
	sshHost, sshPort := h.SSHHost, h.SSHPort
	if err := agentproto.CheckSSHAddress(sshHost, sshPort); err != nil {
		return apperr.Invalid("%v", err)
	}
	if sshPort == 0 {
		sshPort = 22
	}
	runtimes, err := helloRuntimes(h)
	if err != nil {
		return err
	}
	n, err := s.store.RecordAgentHello(ctx, db.RecordAgentHelloParams{ID: nodeID, AgentVersion: h.AgentVersion,
		SshHost: sshHost, SshPort: int32(sshPort), At: &at, Runtimes: runtimes})
	if err != nil {
		return fmt.Errorf("record agent hello: %w", err)
	}
	if n == 0 {
		return apperr.NotFound("node")
	}
	return nil
}

// helloRuntimes is the set of runtimes a hello offers, each once, in a
// fixed order.
func helloRuntimes(h agentproto.Hello) ([]string, error) {
	names := h.Runtimes
	if len(names) == 0 {
		names = []string{agentproto.RuntimeProcess} // an older agent: process or sim
	}
	var process, docker bool
	for _, n := range names {
		switch n {
		case agentproto.RuntimeProcess:
			process = true
		case agentproto.RuntimeDocker:
			docker = true
		default:
			return nil, apperr.Invalid("agent offers an unknown runtime %q", n)
		}
	}
	out := []string{}
	if process {
		out = append(out, agentproto.RuntimeProcess)
	}
	if docker {
		out = append(out, agentproto.RuntimeDocker)
	}
	return out, nil
}

// drift reports whether an agent that said it runs version v is not on the
// desired version. A node whose agent never connected has no version and
// so no drift; neither does a control plane that does not know its own.
func (s *Service) drift(v string) bool {
	return v != "" && s.desiredAgentVersion != "" && v != s.desiredAgentVersion
}

func ptr[T any](v T) *T { return &v }
