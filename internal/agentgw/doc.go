// Package agentgw is the control plane's end of the agent connection: it
// authenticates a node agent's websocket by its node credential, refuses
// too-old protocol versions with a clear message, runs the yamux session,
// answers Hello, routes tasks and terminal streams across replicas, and
// decides what each heartbeat costs: only a session's first heartbeat or a
// changed GPU report is written at once; the rest are stamps that a
// flusher writes in one batched UPDATE. It does not write nodes or GPUs
// itself: inventory.Liveness is their one writer (online, offline, GPU
// health, the offline sweep); this package tells it when, and answers other
// replicas' sweepers with when it last heard a node. The server never
// dials a node.
package agentgw
