package agentproto

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Version is the protocol this build speaks; MinVersion is the oldest the
// server still accepts.
const (
	Version    = 1
	MinVersion = 1
)

// Header names used at the websocket handshake.
const (
	HeaderVersion = "X-Gpuaas-Agent-Protocol"
	// ConnectPath is where agents dial.
	ConnectPath = "/api/v1/agent/connect"
)

// Hello is the agent's first message on the control stream.
type Hello struct {
	Type         string `json:"type"` // "hello"
	Version      int    `json:"version"`
	AgentVersion string `json:"agent_version"`
	Hostname     string `json:"hostname"`
	// Runtime is the first of Runtimes, for servers that read only it.
	Runtime string `json:"runtime"`
	// Runtimes are the runtimes this agent runs allocations with
	// ("process", "docker"; a sim agent names what it simulates).
	// Placement only picks the node for requests that need one of them.
	// Empty, as an older agent sends it, means [Runtime].
	Runtimes []string `json:"runtimes,omitempty"`
	// SSHHost and SSHPort are where users reach this node over SSH (the
	// agent's --ssh-host and --ssh-port). Empty and zero, as an older
	// agent sends them, mean the hostname and 22.
	SSHHost string `json:"ssh_host,omitempty"`
	SSHPort int    `json:"ssh_port,omitempty"`
}

// HelloAck is the server's answer to Hello.
type HelloAck struct {
	Type              string   `json:"type"` // "hello_ack"
	NodeID            string   `json:"node_id"`
	ServerVersion     string   `json:"server_version"`
	HeartbeatInterval Duration `json:"heartbeat_interval"`
}

// GPU is one device as the agent reports it.
type GPU struct {
	Index         int      `json:"index"`
	UUID          string   `json:"uuid"`
	Model         string   `json:"model"`
	MemoryMiB     int      `json:"memory_mib"`
	Health        string   `json:"health"`
	HealthReasons []string `json:"health_reasons,omitempty"`
	Utilization   int      `json:"utilization_percent"`
	TemperatureC  int      `json:"temperature_c"`
	// The telemetry fields below came with GPU telemetry (still protocol
	// 1: an older agent omits them and they read as zero; an older server
	// ignores them). The server keeps them as samples, not in the GPU's
	// row, so a change in them never makes a heartbeat a write.
	//
	// MemoryUsedMiB is the framebuffer memory in use.
	MemoryUsedMiB int `json:"memory_used_mib,omitempty"`
	// PowerW is the board's power draw in watts.
	PowerW float64 `json:"power_w,omitempty"`
	// ECCCorrected and ECCUncorrected are the volatile ECC error counts
	// (since the driver loaded), DRAM and SRAM summed.
	ECCCorrected   int64 `json:"ecc_corrected,omitempty"`
	ECCUncorrected int64 `json:"ecc_uncorrected,omitempty"`
	// XidEvents is how many Xid events the kernel log holds for the GPU
	// (this boot's, when read from dmesg), fatal or not.
	XidEvents int `json:"xid_events,omitempty"`
}

// Heartbeat is sent every HeartbeatInterval.
type Heartbeat struct {
	Type         string   `json:"type"` // "heartbeat"
	Seq          uint64   `json:"seq"`
	AgentVersion string   `json:"agent_version"`
	GPUs         []GPU    `json:"gpus"`
	GPUNote      string   `json:"gpu_note,omitempty"`
	Allocations  []string `json:"allocations"`
	// Exited are allocations among Allocations whose workload stopped on
	// its own (a container that exited or was OOM-killed). The agent keeps
	// reporting them, and their containers, until the server releases them.
	Exited []WorkloadExit `json:"exited,omitempty"`
	// Apps is the readiness of each running workload that serves ports:
	// one entry per such allocation, Ready naming the ports whose probe
	// passes now (empty: none yet). An allocation without ports, or an
	// agent that predates it, sends none.
	Apps   []AppReadiness `json:"apps,omitempty"`
	SentAt time.Time      `json:"sent_at"`
}

// AppReadiness is which ports of one allocation's workload are ready: the
// launchable's health probe (an HTTP GET answered below 500) passes on its
// port, and a TCP connection succeeds on a port without a probe.
type AppReadiness struct {
	AllocationID string   `json:"allocation_id"`
	Ready        []string `json:"ready"`
}

// WorkloadExit is a workload that stopped on its own.
type WorkloadExit struct {
	AllocationID string `json:"allocation_id"`
	ExitCode     int    `json:"exit_code"`
	OOMKilled    bool   `json:"oom_killed"`
}

// PullProgress is an image pull's progress, summed over its layers
// (BytesTotal 0: not known yet).
type PullProgress struct {
	Image      string `json:"image"`
	BytesDone  int64  `json:"bytes_done"`
	BytesTotal int64  `json:"bytes_total"`
}

// Duration is a time.Duration that travels as a Go duration string.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MaxMessage bounds one control message, so a broken peer cannot make the
// other side buffer without end.
const MaxMessage = 1 << 20

// Encoder writes one JSON message per line.
type Encoder struct{ enc *json.Encoder }

// NewEncoder writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{enc: json.NewEncoder(w)} }

// Send writes v as one line.
func (e *Encoder) Send(v any) error { return e.enc.Encode(v) }

// Decoder reads one JSON message per line.
type Decoder struct{ sc *bufio.Scanner }

// NewDecoder reads from r.
func NewDecoder(r io.Reader) *Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxMessage)
	return &Decoder{sc: sc}
}

// Next reads the next line and returns its type and raw bytes.
func (d *Decoder) Next() (string, []byte, error) {
	if !d.sc.Scan() {
		if err := d.sc.Err(); err != nil {
			return "", nil, err
		}
		return "", nil, io.EOF
	}
	line := d.sc.Bytes()
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil || head.Type == "" {
		return "", nil, fmt.Errorf("agent protocol: malformed message")
	}
	return head.Type, append([]byte(nil), line...), nil
}

// Task kinds.
const (
	TaskProvision = "provision"
	TaskRelease   = "release"
	// TaskProbe asks for a fresh heartbeat and health check at once.
	TaskProbe = "probe"
	// TaskSetKeys replaces a running allocation's authorized keys with
	// the task's AuthorizedKeys (the owner added or deleted one). An agent
	// that predates it answers ErrUnknownTaskKind's text.
	TaskSetKeys = "set_keys"
	// StreamTerminal is the type of a TerminalHeader: the stream carries
	// a PTY session (terminal frames) instead of a task.
	StreamTerminal = "terminal"
)

// UnknownTaskKind starts the error an agent answers for a task kind it
// does not know, so the server can tell an old agent from a failure.
const UnknownTaskKind = "unknown task kind"

// Task is what the server sends on a stream it opens to the agent; the
// agent answers with one TaskResult on the same stream. Both steps are
// idempotent on the agent, so a retried task is harmless.
type Task struct {
	Type         string   `json:"type"` // "task"
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	AllocationID string   `json:"allocation_id"`
	GPUUUIDs     []string `json:"gpu_uuids"`
	// AuthorizedKeys are the keys a provision installs and a set_keys
	// puts in place of the old ones (none: an empty list).
	AuthorizedKeys []string `json:"authorized_keys,omitempty"`
	// Runtime names the runtime that runs the allocation ("process" or
	// "docker"); empty means process for a provision, and for a release
	// every runtime the agent has (each releases what it holds).
	Runtime string `json:"runtime,omitempty"`
	// Container is the docker runtime's workload; nil for process.
	Container *Container `json:"container,omitempty"`
	// StorageNamespace is the owner's storage namespace ("u-<user uuid>")
	// that a provision mounts at /workspace (a container) or ~/workspace
	// (the process runtime) from the node's --storage-path, and that a
	// release hands back (the process runtime gives its files back to
	// root). Empty: nothing to mount (the region's storage is not a shared
	// filesystem, or a server that predates it). The agent checks it
	// against NamespacePattern before it joins it to any path.
	StorageNamespace string `json:"storage_namespace,omitempty"`
}

// NamespacePattern is what a StorageNamespace must match: "u-" (a user)
// or "t-" (a team) and a UUID.
const NamespacePattern = `^[ut]-[0-9a-f-]{36}$`

// Runtimes an agent can offer.
const (
	RuntimeProcess = "process"
	RuntimeDocker  = "docker"
)

// Container is what a docker allocation runs: its image, command, env
// and ports, with the SKU's limits. Env never holds the platform's own
// variables (the server refuses them).
type Container struct {
	Image     string            `json:"image"`
	Command   []string          `json:"command,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Ports     []ContainerPort   `json:"ports,omitempty"`
	VCPU      int               `json:"vcpu,omitempty"`
	MemoryMiB int64             `json:"memory_mib,omitempty"`
	// Health is where the workload's readiness is probed (the launchable's
	// health); nil: each port is ready once it accepts a connection.
	Health *Health `json:"health,omitempty"`
}

// Health is an HTTP readiness probe: GET Path on the container's Port.
type Health struct {
	Port int    `json:"port"`
	Path string `json:"path"`
}

// ContainerPort is a port a container serves (published on 127.0.0.1).
type ContainerPort struct {
	Name     string `json:"name"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol,omitempty"`
}

// TaskResult is the agent's answer to a Task.
type TaskResult struct {
	Type  string `json:"type"` // "task_result"
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Pending (with OK false) says the step goes on on the node (an image
	// still pulling) and Error how far it is: ask again later; it is not a
	// failure.
	Pending bool `json:"pending,omitempty"`
	// Progress, with Pending, is how far an image pull is.
	Progress *PullProgress `json:"progress,omitempty"`
	// Simulated says the runtime that did the task only pretends (the sim
	// runtime of gpuaas dev): nothing runs on the node.
	Simulated bool `json:"simulated,omitempty"`
	// Heartbeat answers a probe.
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	// Notes are what a successful provision wants its owner to know, in
	// words (the workspace was not mounted, and why); the server stores
	// each as an allocation event of kind "storage".
	Notes []string `json:"notes,omitempty"`
}
