// Package agentgw is the control plane's end of the agent connection: it
// authenticates a node agent's websocket by its node credential, refuses
// too-old protocol versions with a clear message, runs the yamux session,
// answers Hello, and turns heartbeats into the node read model (online,
// last heartbeat, GPU inventory and health). Heartbeats are cheap: only a
// session's first heartbeat or a changed GPU report is written at once;
// the rest stamp the node in memory and a flusher writes every stamp in
// one batched UPDATE. A sweeper marks nodes
// whose agent went quiet offline. The server never dials a node.
package agentgw
