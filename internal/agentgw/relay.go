package agentgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/secrets"
)

// A stream (a terminal, an app connection, logs, SSH) can only be opened by the replica holding the node's
// agent session. Another replica asks that one over NATS (the node's task
// subject, with the relayHeader set); the holder opens the stream, parks
// it under a random single-use ticket and answers with its own URL and
// the ticket. The asker then dials RelayPath on the holder with the ticket
// as a bearer and gets the stream's bytes over a websocket. The bytes
// never cross the bus; the ticket is only ever carried by NATS, which is
// internal, and expires in relayTicketTTL.

// RelayPath is where a replica serves terminal streams it parked for
// another replica.
const RelayPath = "/api/v1/internal/terminal-relay"

// relayHeader marks a routed request that is not a task: a stream open
// ("stream"; "terminal" from older replicas) or a sweeper asking when the
// node was last heard ("liveness").
const relayHeader = "Gpuaas-Route"

const relayTicketTTL = 10 * time.Second

// relayOffer is the holder's answer to a routed terminal open.
type relayOffer struct {
	URL    string `json:"url,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	Error  string `json:"error,omitempty"`
}

// parked is a stream waiting for the replica that asked for it.
type parked struct {
	stream net.Conn
	timer  *time.Timer
}

// relays holds the parked streams of one replica.
type relays struct {
	mu      sync.Mutex
	base    string // this replica's URL as other replicas reach it
	waiting map[string]*parked
}

// SetAdvertiseURL sets the URL other replicas dial to reach this one
// (http://host:port); without it this replica cannot hand terminal
// streams to others.
func (g *Gateway) SetAdvertiseURL(u string) {
	g.relay.mu.Lock()
	g.relay.base = strings.TrimSuffix(u, "/")
	g.relay.mu.Unlock()
}

// park holds stream under a new ticket, closing it if nobody takes it
// within relayTicketTTL.
func (r *relays) park(stream net.Conn) string {
	ticket := secrets.Token("")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		r.waiting = map[string]*parked{}
	}
	p := &parked{stream: stream}
	p.timer = time.AfterFunc(relayTicketTTL, func() {
		if s := r.take(ticket); s != nil {
			s.Close()
		}
	})
	r.waiting[ticket] = p
	return ticket
}

// take removes and returns the stream parked under ticket, or nil.
func (r *relays) take(ticket string) net.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.waiting[ticket]
	if p == nil {
		return nil
	}
	delete(r.waiting, ticket)
	p.timer.Stop()
	return p.stream
}

// OpenTerminal opens a terminal stream to the node's agent and sends h;
// the caller then speaks terminal frames on it and closes it.
func (g *Gateway) OpenTerminal(ctx context.Context, nodeID uuid.UUID, h agentproto.TerminalHeader) (net.Conn, error) {
	h.Type = agentproto.StreamTerminal
	return g.OpenStream(ctx, nodeID, h)
}

// OpenStream opens a stream to the node's agent and sends header, a JSON
// object whose "type" names the stream (agentproto's Stream* kinds); what
// follows on it is that kind's protocol, and the caller closes it. The
// stream goes over this replica's session with the agent or, when another
// replica holds the session, is relayed from that one. It returns
// ErrNodeUnreachable when no replica holds one.
func (g *Gateway) OpenStream(ctx context.Context, nodeID uuid.UUID, header any) (net.Conn, error) {
	body, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("stream header: %w", err)
	}
	if g.sessionOf(nodeID) != nil {
		return g.openLocalStream(nodeID, body)
	}
	msg := nats.NewMsg(g.taskSubject(nodeID))
	msg.Header.Set(relayHeader, "stream")
	msg.Data = body
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reply, err := g.askHolder(rctx, msg)
	if errors.Is(err, ErrNodeUnreachable) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: ask the node's replica for a stream: %v", ErrNodeUnreachable, err)
	}
	var offer relayOffer
	if err := json.Unmarshal(reply.Data, &offer); err != nil || (offer.Error == "" && (offer.URL == "" || offer.Ticket == "")) {
		return nil, fmt.Errorf("%w: malformed relay offer", ErrNodeUnreachable)
	}
	if offer.Error != "" {
		return nil, fmt.Errorf("%w: %s", ErrNodeUnreachable, offer.Error)
	}
	wsURL := "ws" + strings.TrimPrefix(offer.URL, "http") + RelayPath
	c, _, err := websocket.Dial(rctx, wsURL, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + offer.Ticket}},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: dial the node's replica: %v", ErrNodeUnreachable, err)
	}
	c.SetReadLimit(relayReadLimit)
	g.relayed.WithLabelValues("dialed").Inc()
	// The conn outlives this call: its context must not be rctx.
	return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
}

// relayReadLimit bounds one relayed websocket message: each side writes
// what one Read of its stream returned, which is far less.
const relayReadLimit = 4 << 20

func (g *Gateway) openLocalStream(nodeID uuid.UUID, header []byte) (net.Conn, error) {
	sess := g.sessionOf(nodeID)
	if sess == nil {
		return nil, ErrNodeUnreachable
	}
	stream, err := sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("%w: open stream: %v", ErrNodeUnreachable, err)
	}
	if _, err := stream.Write(append(header, '\n')); err != nil {
		stream.Close()
		return nil, fmt.Errorf("%w: send stream header: %v", ErrNodeUnreachable, err)
	}
	return stream, nil
}

// offerStream answers another replica's routed stream open.
func (g *Gateway) offerStream(nodeID uuid.UUID, m *nats.Msg) {
	reply := func(o relayOffer) { respond(m, o) }
	g.relay.mu.Lock()
	base := g.relay.base
	g.relay.mu.Unlock()
	if base == "" {
		reply(relayOffer{Error: "the replica holding the node's session has no advertised URL"})
		return
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(m.Data, &head); err != nil || head.Type == "" || head.Type == "task" {
		reply(relayOffer{Error: "malformed stream header"})
		return
	}
	stream, err := g.openLocalStream(nodeID, m.Data)
	if err != nil {
		reply(relayOffer{Error: err.Error()})
		return
	}
	reply(relayOffer{URL: base, Ticket: g.relay.park(stream)})
}

// ServeRelay serves RelayPath: it hands the stream parked under the
// bearer ticket to the replica that asked for it, as websocket binary
// messages both ways.
func (g *Gateway) ServeRelay(w http.ResponseWriter, r *http.Request) {
	ticket, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var stream net.Conn
	if ok && ticket != "" {
		stream = g.relay.take(ticket)
	}
	if stream == nil {
		httpapi.WriteError(w, r, apperr.Unauthorized("", "relay ticket is invalid, expired or already used"))
		return
	}
	defer stream.Close()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(relayReadLimit)
	g.relayed.WithLabelValues("served").Inc()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	defer context.AfterFunc(r.Context(), cancel)() // server shutdown
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer nc.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader) {
		if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, net.ErrClosed) {
			slog.Debug("terminal relay copy", "err", err)
		}
		done <- struct{}{}
	}
	go pipe(stream, nc)
	go pipe(nc, stream)
	<-done // either side ending ends both
}
