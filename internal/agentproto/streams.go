package agentproto

// Streams other than tasks and terminals. Each starts, like a terminal,
// with one JSON header line from the server; the agent answers with one
// StreamReply line, and then the stream carries the kind's bytes.
const (
	// StreamApp carries one TCP connection to a port of an allocation's
	// workload (AppHeader): after an OK reply, raw bytes both ways. The
	// agent dials only the loopback port it published for that
	// allocation's container port, never an address the header names.
	StreamApp = "app"
	// StreamLogs carries a container's stdout and stderr (LogsHeader):
	// after an OK reply, the agent writes the log lines, raw, and closes
	// the stream when they end (or, following, when the container stops).
	StreamLogs = "logs"
	// StreamSSH carries one SSH connection (SSHHeader) to the SSH server
	// the agent runs for its allocations, with no port open on the node:
	// after an OK reply, the SSH protocol's bytes both ways.
	StreamSSH = "ssh"
)

// AppHeader opens a StreamApp.
type AppHeader struct {
	Type         string `json:"type"` // "app"
	AllocationID string `json:"allocation_id"`
	// Port is the port inside the container, as the workload declares it.
	Port int `json:"port"`
}

// LogsHeader opens a StreamLogs.
type LogsHeader struct {
	Type         string `json:"type"` // "logs"
	AllocationID string `json:"allocation_id"`
	// Tail is how many of the last lines to send first (0: none).
	Tail   int  `json:"tail"`
	Follow bool `json:"follow,omitempty"`
}

// SSHHeader opens a StreamSSH.
type SSHHeader struct {
	Type         string   `json:"type"` // "ssh"
	AllocationID string   `json:"allocation_id"`
	GPUUUIDs     []string `json:"gpu_uuids"`
	// AuthorizedKeys are the public keys (authorized_keys lines) that may
	// log in on this connection: the allocation's owner's, as the server
	// knows them now.
	AuthorizedKeys []string `json:"authorized_keys"`
}

// StreamReply is the agent's first line on an app, logs or SSH stream.
type StreamReply struct {
	OK bool `json:"ok"`
	// Code says why not: StreamRefused (nothing listens), StreamNotFound
	// (no such allocation or port here), or StreamUnsupported (an agent
	// without the kind, or a runtime without it).
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// StreamReply codes.
const (
	StreamRefused     = "refused"
	StreamNotFound    = "not_found"
	StreamUnsupported = "unsupported"
)
