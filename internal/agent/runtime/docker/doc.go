// Package docker is the node agent's container runtime: it runs one
// allocation as one container on the node's Docker Engine, through the
// Engine API (the official Go client, API version negotiated with the
// daemon, 1.41 / Docker 20.10 or newer). Provision and Release are
// idempotent and safe to retry at any point, including after a crash half
// way and after an agent restart.
//
// It owns only the host side. It must not talk to the control plane or
// decide which GPUs, image or limits an allocation gets (the caller says).
//
// # What it creates on the engine
//
// For allocation ID:
//
//   - a bridge network gpuaas-ID with inter-container traffic off and
//     published ports bound to 127.0.0.1, labelled gpuaas.allocation=ID:
//     tenants on one node share no network, so one container cannot reach
//     another's ports;
//   - a container gpuaas-ID, labelled gpuaas.allocation=ID (the mark of
//     ownership: a container or network of that name without the label is
//     ErrNotManaged and never touched), attached only to that network, its
//     ports published on 127.0.0.1 with an ephemeral host port;
//   - GPU isolation: a device request for exactly the allocation's GPU
//     UUIDs with driver nvidia and capability gpu (never "all"), and
//     NVIDIA_VISIBLE_DEVICES set to the same list ("void" with none), which
//     is what the NVIDIA container toolkit reads;
//   - limits: vCPUs as a CFS quota (CpuPeriod 100 ms, CpuQuota vcpu × the
//     period; Docker does not cap a quota at the host's core count, unlike
//     NanoCpus), memory_mib as Memory with MemorySwap equal (no swap beyond
//     it), and a pids limit;
//   - privileges: no-new-privileges, every capability dropped except
//     DefaultCapAdd (what an ordinary image's entrypoint needs to chown its
//     files and drop to a user: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL,
//     SETGID, SETUID, NET_BIND_SERVICE), never privileged, a private IPC
//     namespace, its own PID namespace, no host network;
//   - the restart policy "no": a container that exits or is OOM-killed
//     stays exited so that State reports its exit code and OOM flag;
//   - json-file logs capped at 3 × 10 MB.
//
// Images are pulled only when the engine does not have them (in the
// background, one pull per image: Provision answers ErrPulling with the
// progress after PullWait and carries on when asked again), so images
// built or loaded on the node work offline; a pull sends the login the
// operator configured for the image's registry (Credentials, from a Docker
// config.json), and reports progress through OnPull.
//
// Release stops the container (10 s grace), removes it with its anonymous
// volumes, and removes the network: nothing is left behind. A container
// or network that is not there is not an error.
//
// After an agent restart, List finds the containers by label, so the
// agent reports them as running again and a repeated Provision adopts the
// container it finds instead of creating another.
package docker
