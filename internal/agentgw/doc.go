// Package agentgw is the control plane's end of the agent connection: it
// authenticates a node agent's websocket by its node credential, refuses
// too-old protocol versions with a clear message, runs the yamux session,
// answers Hello, and turns heartbeats into the node read model (online,
// last heartbeat, GPU inventory and health). Heartbeats are cheap: a
// replica writes to Postgres only when something changed or the
// liveness stamp is due, never once per heartbeat. A sweeper marks nodes
// whose agent went quiet offline. The server never dials a node.
package agentgw
