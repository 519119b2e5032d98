package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/gpu"
)

// runAgent is the node agent's entry point. Only `discover` exists so far,
// so an operator can check what a host would report before the agent that
// reports it lands.
func runAgent(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "discover" {
		return runAgentDiscover(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, "gpuaas agent: only `discover` exists so far; the node agent lands with the agent issue")
	return exitUsage
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
