package agentgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/yamux"
	"github.com/nats-io/nats.go"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
)

// ErrNodeUnreachable means no replica holds a session with the node's
// agent; it is the lifecycle's allocation.ErrNodeUnreachable, so a step
// waits for the agent instead of failing.
var ErrNodeUnreachable = allocation.ErrNodeUnreachable

// taskSubject is where the replica holding a node's session takes tasks
// that other replicas route to it.
func (g *Gateway) taskSubject(nodeID uuid.UUID) string {
	return g.cfg.Namespace + ".agent.task." + nodeID.String()
}

// Do runs task on the node's agent, over this replica's session with it
// or, when another replica holds the session, through NATS to that one.
func (g *Gateway) Do(ctx context.Context, nodeID uuid.UUID, task agentproto.Task) (agentproto.TaskResult, error) {
	if task.ID == "" {
		task.ID = uuid.NewString()
	}
	task.Type = "task"
	if sess := g.sessionOf(nodeID); sess != nil {
		return runTask(ctx, sess, task)
	}
	req, _ := json.Marshal(task)
	msg, err := g.askHolder(ctx, &nats.Msg{Subject: g.taskSubject(nodeID), Data: req})
	if err != nil {
		if !errors.Is(err, ErrNodeUnreachable) {
			err = fmt.Errorf("route task to the node's replica: %w", err)
		}
		return agentproto.TaskResult{}, err
	}
	var res agentproto.TaskResult
	if err := json.Unmarshal(msg.Data, &res); err != nil {
		return agentproto.TaskResult{}, fmt.Errorf("decode routed task result: %w", err)
	}
	if res.Type == "error" {
		return agentproto.TaskResult{}, fmt.Errorf("%w: %s", ErrNodeUnreachable, res.Error)
	}
	return res, nil
}

// askHolder sends msg, addressed to a node's task subject, to the replica
// holding that node's session and waits for its answer. No bus, or no
// replica listening, is ErrNodeUnreachable.
func (g *Gateway) askHolder(ctx context.Context, msg *nats.Msg) (*nats.Msg, error) {
	if g.cfg.NATS == nil {
		return nil, ErrNodeUnreachable
	}
	reply, err := g.cfg.NATS.RequestMsgWithContext(ctx, msg)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNodeUnreachable
	}
	return reply, err
}

// respond answers a routed request with v as JSON.
func respond(m *nats.Msg, v any) {
	b, _ := json.Marshal(v)
	_ = m.Respond(b)
}

func (g *Gateway) sessionOf(nodeID uuid.UUID) *yamux.Session {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.nodes[nodeID]; st != nil {
		return st.session
	}
	return nil
}

// runTask opens a stream to the agent, sends the task and waits for its result.
func runTask(ctx context.Context, sess *yamux.Session, task agentproto.Task) (agentproto.TaskResult, error) {
	stream, err := sess.OpenStream()
	if err != nil {
		return agentproto.TaskResult{}, fmt.Errorf("%w: open task stream: %v", ErrNodeUnreachable, err)
	}
	defer stream.Close()
	stop := context.AfterFunc(ctx, func() { stream.Close() })
	defer stop()
	if err := agentproto.NewEncoder(stream).Send(task); err != nil {
		return agentproto.TaskResult{}, fmt.Errorf("%w: send task: %v", ErrNodeUnreachable, err)
	}
	typ, raw, err := agentproto.NewDecoder(stream).Next()
	if err != nil || typ != "task_result" {
		if ctx.Err() != nil {
			return agentproto.TaskResult{}, ctx.Err()
		}
		return agentproto.TaskResult{}, fmt.Errorf("%w: read task result: %v", ErrNodeUnreachable, err)
	}
	var res agentproto.TaskResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return agentproto.TaskResult{}, fmt.Errorf("decode task result: %w", err)
	}
	return res, nil
}

// serveRouted answers tasks other replicas route to a node whose session
// this replica holds; it returns the subscription to drop on detach.
func (g *Gateway) serveRouted(nodeID uuid.UUID) *nats.Subscription {
	if g.cfg.NATS == nil {
		return nil
	}
	// NATS runs a subscription's handler for one message at a time; each
	// request gets its own goroutine, as a local Do would, so a routed
	// provision (up to taskTimeout) does not hold up a probe or a terminal
	// open for the same node.
	sub, err := g.cfg.NATS.Subscribe(g.taskSubject(nodeID), func(m *nats.Msg) {
		go g.answerRouted(nodeID, m)
	})
	if err != nil {
		slog.Warn("subscribe for routed agent tasks", "node_id", nodeID, "err", err)
		return nil
	}
	return sub
}

// ProbeTimeout is how long a probe waits for the agent.
const ProbeTimeout = 5 * time.Second

// Probe asks the node's agent, over its own connection, for a fresh
// heartbeat and records it. When no agent answers in ProbeTimeout the
// node is marked offline and ErrNodeUnreachable returned.
func (g *Gateway) Probe(ctx context.Context, nodeID uuid.UUID) error {
	pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	res, err := g.Do(pctx, nodeID, agentproto.Task{Kind: agentproto.TaskProbe})
	if err == nil && (!res.OK || res.Heartbeat == nil) {
		err = fmt.Errorf("%w: agent answered the probe without a heartbeat", ErrNodeUnreachable)
	}
	if err != nil {
		if merr := g.live.MarkOffline(ctx, nodeID, "no answer to probe"); merr != nil {
			return fmt.Errorf("mark node offline: %w", merr)
		}
		return fmt.Errorf("%w: %v", ErrNodeUnreachable, err)
	}
	g.mu.Lock()
	if st := g.nodes[nodeID]; st != nil {
		st.written = time.Time{} // a probe's answer is always written
	}
	g.mu.Unlock()
	return g.Heartbeat(ctx, nodeID, *res.Heartbeat, time.Now())
}

// answerRouted answers one request another replica routed to a node whose
// session this replica holds: a terminal open or a task.
func (g *Gateway) answerRouted(nodeID uuid.UUID, m *nats.Msg) {
	switch m.Header.Get(relayHeader) {
	case "stream", "terminal": // "terminal": a replica of an older version
		g.offerStream(nodeID, m)
		return
	case "liveness":
		g.answerLiveness(nodeID, m)
		return
	}
	var task agentproto.Task
	reply := func(v any) { respond(m, v) }
	if err := json.Unmarshal(m.Data, &task); err != nil {
		reply(agentproto.TaskResult{Type: "error", Error: "malformed routed task"})
		return
	}
	sess := g.sessionOf(nodeID)
	if sess == nil {
		reply(agentproto.TaskResult{Type: "error", Error: "session gone"})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
	defer cancel()
	res, err := runTask(ctx, sess, task)
	if err != nil {
		reply(agentproto.TaskResult{Type: "error", Error: err.Error()})
		return
	}
	reply(res)
}
