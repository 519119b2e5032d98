package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/gpu"
)

// fakeNvidiaSMI writes a stand-in nvidia-smi that prints the real H200
// capture kept in internal/gpu/testdata; no GPU is needed.
func fakeNvidiaSMI(t *testing.T) string {
	t.Helper()
	xml, err := filepath.Abs("../../internal/gpu/testdata/h200-idle.xml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec cat '"+xml+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func emptyKernelLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kern.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeInventory(t *testing.T, out string) gpu.Inventory {
	t.Helper()
	var inv gpu.Inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return inv
}

func TestAgentDiscoverPrintsTheInventory(t *testing.T) {
	code, out, errOut := runArgs("agent", "discover", "--nvidia-smi", fakeNvidiaSMI(t), "--kernel-log", emptyKernelLog(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	inv := decodeInventory(t, out)
	if len(inv.GPUs) != 1 || inv.GPUs[0].UUID != "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89" ||
		inv.GPUs[0].Name != "NVIDIA H200" || inv.GPUs[0].Health != "healthy" || inv.DriverVersion != "580.159.04" {
		t.Errorf("%s", out)
	}
	if !strings.Contains(out, "\n  \"gpus\": [") {
		t.Errorf("not indented: %s", out)
	}
}

func TestAgentDiscoverFlagsHaveEnvTwins(t *testing.T) {
	t.Setenv("GPUAAS_NVIDIA_SMI", fakeNvidiaSMI(t))
	t.Setenv("GPUAAS_KERNEL_LOG", emptyKernelLog(t))
	code, out, errOut := runArgs("agent", "discover")
	if inv := decodeInventory(t, out); code != 0 || len(inv.GPUs) != 1 || inv.Note != "" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if code, out, _ := runArgs("agent", "discover", "--help"); code != 0 ||
		!strings.Contains(out, "[GPUAAS_NVIDIA_SMI]") || !strings.Contains(out, "[GPUAAS_KERNEL_LOG]") {
		t.Errorf("help: %d %s", code, out)
	}
}

// A host without the driver: zero GPUs, a note, exit 0.
func TestAgentDiscoverWithoutDriver(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	code, out, errOut := runArgs("agent", "discover")
	inv := decodeInventory(t, out)
	if code != 0 || len(inv.GPUs) != 0 || inv.Note != "no NVIDIA driver found: nvidia-smi not on PATH" {
		t.Errorf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, `"gpus": []`) {
		t.Errorf("gpus should be an empty list: %s", out)
	}
}

func TestAgentFlagsFailFast(t *testing.T) {
	for args, want := range map[string][]string{
		"--server":   {"agent"},
		"--runtime":  {"agent", "--server", "http://x", "--runtime", "kubernetes"},
		"frobnicate": {"agent", "frobnicate"},
		"--ssh-port": {"agent", "--server", "http://x", "--ssh-port", "70000"},
		"--ssh-host": {"agent", "--server", "http://x", "--ssh-host", "h; rm -rf ~"},
	} {
		code, _, errOut := runArgs(want...)
		if code != exitUsage || !strings.Contains(errOut, args) {
			t.Errorf("%q: %d %s", want, code, errOut)
		}
	}
	if code, _, errOut := runArgs("agent", "--server", "http://x", "--runtime", "process,sim"); code != exitUsage || !strings.Contains(errOut, "sim stands in for process") {
		t.Errorf("process and sim: %d %s", code, errOut)
	}
	if code, _, errOut := runArgs("agent", "--server", "http://x", "--runtime", "docker", "--docker-host", "unix:///nonexistent.sock"); code != exitFailed || !strings.Contains(errOut, "--runtime docker: reach the docker engine") {
		t.Errorf("docker without an engine: %d %s", code, errOut)
	}
	dir := t.TempDir()
	code, _, errOut := runArgs("agent", "--server", "http://127.0.0.1:1", "--data-dir", dir)
	if code != exitFailed || !strings.Contains(errOut, "no --join-token") {
		t.Errorf("no credential, no token: %d %s", code, errOut)
	}
	t.Setenv("GPUAAS_SSH_PORT", "0")
	if code, _, errOut := runArgs("agent", "--server", "http://x"); code != exitUsage || !strings.Contains(errOut, "GPUAAS_SSH_PORT") {
		t.Errorf("ssh port from env: %d %s", code, errOut)
	}
	if code, out, _ := runArgs("agent", "--help"); code != 0 || !strings.Contains(out, "[GPUAAS_SSH_HOST]") || !strings.Contains(out, "[GPUAAS_SSH_PORT] (default 22)") {
		t.Errorf("help: %d %s", code, out)
	}
	if code, _, errOut := runArgs("agent", "discover", "extra"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("extra arg: %d %s", code, errOut)
	}
}
