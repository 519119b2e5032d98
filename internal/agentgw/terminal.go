package agentgw

import (
	"fmt"
	"net"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// OpenTerminal opens a stream to the node's agent and sends h; the caller
// then speaks terminal frames on it and closes it. Only the replica that
// holds the node's session can open one: elsewhere it returns
// ErrNodeUnreachable.
func (g *Gateway) OpenTerminal(nodeID uuid.UUID, h agentproto.TerminalHeader) (net.Conn, error) {
	sess := g.sessionOf(nodeID)
	if sess == nil {
		return nil, ErrNodeUnreachable
	}
	stream, err := sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("%w: open terminal stream: %v", ErrNodeUnreachable, err)
	}
	h.Type = agentproto.StreamTerminal
	if err := agentproto.NewEncoder(stream).Send(h); err != nil {
		stream.Close()
		return nil, fmt.Errorf("%w: send terminal header: %v", ErrNodeUnreachable, err)
	}
	return stream, nil
}
