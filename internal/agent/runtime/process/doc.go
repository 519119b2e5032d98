// Package process is the node agent's bare-metal runtime: it makes one
// allocation real on a GPU host as a Linux user whom the allocation's owner
// reaches over SSH, with the reserved GPUs pinned in every shell the user
// gets. Provision and Release are idempotent and safe to retry at any
// point, including after a crash half way.
//
// It owns only the host side. It must not talk to the control plane, decide
// which GPUs or keys an allocation has (the caller says), or run sshd. It
// must run as root.
//
// # What it writes on the host
//
// For a workload whose login is NAME (by default "g" and the first 12 hex
// digits of the allocation id; see UsernameFor):
//
//   - a user NAME and a group NAME (useradd --user-group), uid from the
//     system's range, comment "gpuaas allocation <id>". The comment is the
//     mark of ownership: Provision and Release refuse (ErrNotManaged) any
//     existing user without the mark for that same allocation, so they
//     never touch an account they did not create;
//   - the password field "*": no password matches it, so only keys log in.
//     It is not "!" (what useradd writes by default, and what passwd -l
//     writes) because OpenSSH without PAM treats a password field starting
//     with "!" as a locked account and refuses even key logins; "*" is not
//     a lock marker to it, nor to pam_unix's account check;
//   - HOME = HomeRoot/NAME (default /home/NAME), mode 0700, owned by NAME;
//   - HOME/.ssh (0700) and HOME/.ssh/authorized_keys (0600), owned by NAME,
//     rewritten from the workload on every Provision, so a repeat with new
//     keys replaces the old ones. Each key is parsed first, so no line can
//     carry a second key in;
//   - ProfileDir/gpuaas-NAME.sh (default /etc/profile.d), owned by root,
//     mode 0644: exports CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES,
//     both the comma-joined GPU uuids, inside a guard
//     `[ "$(id -un)" = NAME ]` so that other users' login shells, which
//     read the same directory, are unaffected;
//   - HOME/.bashrc, owned by root, mode 0644, rewritten on every
//     Provision: a line that sources the env file, then /etc/skel/.bashrc,
//     then ~/.bashrc.local if the user made one.
//
// Release kills the user's processes, deletes the entries directly in
// /tmp, /var/tmp and /dev/shm that the user owns (so a later allocation
// given the same, reused uid does not inherit them), runs
// `userdel --remove --force`, removes HOME if userdel left it, and removes
// the env file. A user that is not there is not an error.
//
// # Why both /etc/profile.d and ~/.bashrc
//
// The pinned env must reach two kinds of session:
//
//   - a login shell (`ssh host` with no command, `su - NAME`): bash and
//     dash read /etc/profile, which sources /etc/profile.d/*.sh;
//   - `ssh host CMD`: sshd runs `bash -c CMD`, which is neither a login nor
//     an interactive shell and reads no profile. Debian's and Ubuntu's bash
//     (built with SSH_SOURCE_BASHRC) do read /etc/bash.bashrc and then
//     ~/.bashrc when SSH_CLIENT is set; /etc/bash.bashrc returns at once
//     when not interactive, and so does the stock ~/.bashrc, hence our line
//     goes above its guard.
//
// Other ways were weighed. ~/.ssh/environment needs PermitUserEnvironment,
// which is off by default and lets the user set anything, LD_PRELOAD
// included. A `Match User` SetEnv in sshd_config would mean rewriting and
// reloading sshd's configuration per allocation. A wrapper login shell
// loses the "-" in argv[0] that makes a login shell. Editing the system's
// /etc/bash.bashrc above its guard would touch every user on the host.
//
// The env is a convenience, not isolation: the user owns HOME and can
// replace ~/.bashrc, and can unset the variables in any shell. What keeps
// the user off other GPUs is the device nodes' ownership (next section). A
// shell other than bash loses the `ssh host CMD` path. A terminal started
// for the workload without a login shell should add Env.
//
// # GPU device nodes
//
// With Runtime.GPUMinors set (the agent sets it from nvidia-smi's
// minor_number per GPU uuid), a GPU's node DeviceDir/nvidiaN is
// root:NAME mode 0660 while allocation NAME holds it, and root:root 0600
// while no one does; a user is in no group but its own, so it can open its
// own GPUs' nodes and no others. The shared nodes every CUDA program needs
// (nvidiactl, nvidia-uvm, nvidia-uvm-tools, nvidia-modeset) are not
// touched: they name no GPU.
//
//   - Provision first locks every node no allocation holds (the sweep),
//     then gives w's nodes to NAME's group, taking one from another
//     allocation with a warning (the control plane decides who holds a
//     GPU). A uuid not among the host's GPUs is ErrInvalid.
//   - Release locks w's nodes before it deletes the user, so that a
//     Release stopped half way never leaves a node open to a group whose
//     gid the next useradd may reuse, and skips a node that another
//     allocation holds by then (a late retry must not take it back). It
//     sweeps again at the end.
//   - LockIdleGPUs is the sweep; the agent runs it at start. Who holds a
//     node is read from the node itself: its group is an allocation's
//     when it is the primary group of a user with this runtime's mark.
//     Allocations that outlive an agent restart therefore keep their
//     GPUs, with no state kept elsewhere.
//
// Only a character device 195:N named nvidiaN is ever changed: the node
// is opened with O_PATH|O_NOFOLLOW (no symlink is followed and the
// driver's open does not run), checked through that descriptor, and
// changed through it. Anything else by that name is left alone with a
// warning (Provision of its GPU fails). A node that does not exist (a
// test host, fixtures with no driver) has nothing to guard and is
// skipped.
//
// MIG devices are not supported: their access goes through the parent
// GPU's node plus /dev/nvidia-caps, and one group per node cannot share
// a GPU between allocations. The control plane places whole GPUs only.
//
// Changing a node's mode does not revoke descriptors already open; Release
// kills the user's processes, which closes them. The driver can undo the
// isolation: with NVreg_ModifyDeviceFiles=1 (its default) its setuid
// helper nvidia-modprobe may recreate a node with NVreg_DeviceFileMode
// (default 0666), and udev recreates nodes on a driver reload.
// WarnDriverRecreatesNodes says so in the log; docs/workloads.md says how
// to load the driver.
//
// # Safety as root in a home the user controls
//
// Every path in HOME is resolved inside an os.Root, directories are
// changed through their own descriptors, and files are replaced by
// writing a new file and renaming it over the old one, never written
// through. A symlink the user plants (say .ssh/authorized_keys pointing at
// /etc/shadow) can therefore neither be followed out of HOME nor make root
// write through it.
//
// # Killing the user's processes
//
// Release asks systemd-logind to end the user's sessions when it runs,
// then scans /proc and sends SIGKILL to every process whose real,
// effective or saved uid is the user's, until a scan finds none alive or
// KillTimeout passes. Zombies are skipped: only their parent can reap
// them, and one would otherwise stall the loop. After userdel it scans
// once more by uid, for anything forked in between.
//
// # The user database
//
// useradd and userdel take a lock on /etc/passwd and friends and fail at
// once when someone else holds it ("cannot lock /etc/passwd; try again
// later", exit 1 or 10). A package-wide mutex serialises this process's
// changes, and a change that still meets a held lock (another process on
// the host) is retried with a short exponential backoff.
//
// Commands go through Runtime.Exec, so a test can record or fail them;
// the default, DefaultExec, returns a *CmdError with the command line, the
// exit status and standard error.
package process
