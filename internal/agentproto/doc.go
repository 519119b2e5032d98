// Package agentproto is the wire contract between a node agent and the
// control plane, shared by both sides so they cannot drift. Its version
// history is docs/agent-protocol.md.
//
// The agent dials out (no inbound port on the GPU host): a websocket to
// GET /api/v1/agent/connect on the API's own port, authenticated by the
// node credential, carrying a yamux session so either side can open
// streams. The agent opens the first stream, the control stream, and
// speaks newline-delimited JSON on it: Hello, then Heartbeats; the server
// answers Hello with HelloAck, which sets the heartbeat interval. Later
// versions add server-opened streams for tasks and terminals.
package agentproto
