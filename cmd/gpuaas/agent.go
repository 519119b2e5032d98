package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/gpu"
)

// runAgent is the node agent's entry point: `gpuaas agent [flags]` runs the
// agent, `gpuaas agent discover` prints what it would report.
func runAgent(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "discover" {
		return runAgentDiscover(args[1:], stdout, stderr)
	}
	cfg := agent.Config{Runtime: "process", DataDir: "/var/lib/gpuaas-agent", Version: version, SSHPort: 22,
		SelfUpdate: true, Updater: &agent.Updater{}}
	// A host name ssh cannot use (or none) leaves it empty, which the
	// server reads as the node's registered hostname.
	if h, err := os.Hostname(); err == nil && agentproto.CheckSSHAddress(h, 0) == nil {
		cfg.SSHHost = h
	}
	var smi gpu.NvidiaSMI
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", "", "control plane URL, e.g. https://gpu.example.com")
	fs.StringVar(&cfg.JoinToken, "join-token", "", "one-time join token from an admin; used only when --data-dir holds no credential yet")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where the agent keeps its node credential (mode 0600)")
	fs.StringVar(&cfg.Runtime, "runtime", cfg.Runtime, "how allocations run on this node, a comma list: process (a Linux user per allocation; needs root), docker (a container per allocation on --docker-host), or sim instead of process")
	dockerHost := os.Getenv("DOCKER_HOST")
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	var dockerConfig string
	fs.StringVar(&dockerConfig, "docker-config", "", "a Docker CLI config.json whose \"auths\" (docker login) the docker runtime sends when it pulls from those registries; empty pulls anonymously")
	fs.StringVar(&dockerHost, "docker-host", dockerHost, "the Docker Engine the docker runtime drives, as DOCKER_HOST writes it (default: $DOCKER_HOST, else the system socket)")
	fs.StringVar(&cfg.SSHHost, "ssh-host", cfg.SSHHost, "host name or IP address users reach this node's sshd at, shown in their allocations' ssh command")
	fs.IntVar(&cfg.SSHPort, "ssh-port", cfg.SSHPort, "port of this node's sshd, shown in their allocations' ssh command")
	fs.BoolVar(&cfg.SelfUpdate, "self-update", cfg.SelfUpdate, "when the control plane runs another version, replace this binary with its (signed) one and re-exec; rolled back if it does not reconnect")
	fs.DurationVar(&cfg.Updater.Deadline, "self-update-deadline", agent.DefaultUpdateDeadline, "how long a self-updated binary has to reconnect before it is rolled back")
	var storage agent.Storage
	fs.StringVar(&storage.Path, "storage-path", "", "where this node mounts its region's shared filesystem root (the server's --storage-fs-root, same layout): allocations get their owner's namespace at /workspace (with --runtime sim: their terminals start in it); empty: no shared filesystem, nothing is mounted and the allocation's events say so")
	fs.StringVar(&smi.Path, "nvidia-smi", "", "path to nvidia-smi (default: found on PATH)")
	fs.StringVar(&smi.KernelLog, "kernel-log", "", "kernel log to read Xid errors from (default: dmesg, then /var/log/kern.log)")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "usage: gpuaas agent --server URL [--join-token T] [--data-dir D] [--runtime process,docker|sim]\n"+
				"                    [--docker-host unix:///var/run/docker.sock]\n"+
				"                    [--ssh-host H] [--ssh-port P] [--self-update=false] [--storage-path DIR]\n"+
				"       gpuaas agent discover [--nvidia-smi PATH]\n\n"+
				"Run the node agent: it joins with the token once, then dials the control plane\n"+
				"and reports this host's GPUs and their health.\n\nflags [env twin] (default):\n")
			config.Usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", err)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "gpuaas agent: unexpected argument %q (commands: discover)\n", fs.Arg(0))
		return exitUsage
	case cfg.Server == "":
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", config.Invalid("server", "required"))
		return exitUsage
	case cfg.SSHPort < 1 || cfg.SSHPort > 65535:
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", config.Invalid("ssh-port", "want 1 to 65535, got %d", cfg.SSHPort))
		return exitUsage
	case agentproto.CheckSSHAddress(cfg.SSHHost, cfg.SSHPort) != nil:
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", config.Invalid("ssh-host", "want a DNS name or an IP address, got %q", cfg.SSHHost))
		return exitUsage
	}
	if storage.Path != "" {
		if fi, err := os.Stat(storage.Path); err != nil || !fi.IsDir() || !filepath.IsAbs(storage.Path) {
			fmt.Fprintf(stderr, "gpuaas agent: %v\n", config.Invalid("storage-path", "want an absolute path to a directory, got %q", storage.Path))
			return exitUsage
		}
	}
	kinds, err := parseRuntimes(cfg.Runtime)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", err)
		return exitUsage
	}
	if kinds["process"] && os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", config.Invalid("runtime", "process creates a Linux user per allocation and must run as root"))
		return exitUsage
	}
	cfg.Discoverer = smi
	setupLogging("info", "text", stderr)
	ctx, stop := signalContext()
	defer stop()
	multi := agent.MultiRuntime{}
	switch {
	case kinds["process"]:
		// The GPUs' device nodes are opened to the allocation holding
		// them only: nvidia-smi says which node is which GPU's.
		multi.Process = agent.ProcessRuntime{RT: &process.Runtime{GPUMinors: agent.GPUMinors(smi)}, Storage: storage}
		cfg.Runtimes = append(cfg.Runtimes, agentproto.RuntimeProcess)
	case kinds["sim"]:
		// A simulated node's terminals start in the allocation's
		// namespace under --storage-path, on this host.
		multi.Process = agent.SimRuntime{Workspaces: agent.NewSimWorkspaces(storage)}
		cfg.Runtimes = append(cfg.Runtimes, agentproto.RuntimeProcess)
	}
	if kinds["docker"] {
		drt, err := docker.New(ctx, dockerHost)
		if err != nil {
			fmt.Fprintf(stderr, "gpuaas agent: --runtime docker: %v\n", err)
			return exitFailed
		}
		defer drt.Close()
		if dockerConfig != "" {
			if drt.Credentials, err = docker.LoadCredentials(dockerConfig); err != nil {
				fmt.Fprintf(stderr, "gpuaas agent: --docker-config: %v\n", err)
				return exitFailed
			}
		}
		drt.OnPull = func(id uuid.UUID, p docker.PullProgress) {
			slog.Info("pulling image", "allocation_id", id, "image", p.Image, "status", p.Status, "bytes", p.Current, "total", p.Total)
		}
		multi.Docker = agent.DockerRuntime{RT: drt, Storage: storage}
		cfg.Runtimes = append(cfg.Runtimes, agentproto.RuntimeDocker)
	}
	if kinds["sim"] && !kinds["docker"] {
		cfg.NodeRuntime = multi.Process // the sim runtime: the agent warns loudly about it
	} else {
		cfg.NodeRuntime = multi
	}
	if err := agent.Run(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "gpuaas agent: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// parseRuntimes reads --runtime: a comma list of process, docker and sim
// (sim stands in for process, so not both).
func parseRuntimes(v string) (map[string]bool, error) {
	kinds := map[string]bool{}
	for _, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		switch k {
		case "process", "docker", "sim":
			kinds[k] = true
		default:
			return nil, config.Invalid("runtime", "want a comma list of process, docker and sim, got %q", v)
		}
	}
	if kinds["process"] && kinds["sim"] {
		return nil, config.Invalid("runtime", "sim stands in for process: name one of them, got %q", v)
	}
	return kinds, nil
}

// runAgentDiscover prints this host's GPU inventory as JSON. A host without
// GPUs or driver exits 0 too: zero GPUs and a note saying why is the answer,
// not a failure.
func runAgentDiscover(args []string, stdout, stderr io.Writer) int {
	var smi gpu.NvidiaSMI
	fs := flag.NewFlagSet("agent discover", flag.ContinueOnError)
	fs.StringVar(&smi.Path, "nvidia-smi", "nvidia-smi", "nvidia-smi binary; a bare name is looked up on PATH")
	fs.StringVar(&smi.KernelLog, "kernel-log", "", "file to read Xid events from; empty runs dmesg, then reads "+gpu.DefaultKernelLogFile)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "usage: gpuaas agent discover [flags]\n\n"+
				"Print this host's GPUs, their health and why, as JSON, from `nvidia-smi -q -x`\n"+
				"and the kernel log's Xid events.\n\nflags [env twin] (default):\n")
			config.Usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "gpuaas agent discover: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gpuaas agent discover: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	inv, err := smi.Discover(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas agent discover: %v\n", err)
		return exitFailed
	}
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas agent discover: encode inventory: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}
