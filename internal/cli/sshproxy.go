package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// runSSHStdio connects stdin and stdout to the allocation's SSH server
// (the agent's, reached over GET /api/v1/allocations/{id}/ssh): what ssh's
// ProxyCommand needs, so that `ssh`, `scp`, `rsync` and editors' remote
// SSH reach the allocation with no port open on its node.
func runSSHStdio(ctx context.Context, env Env, id uuid.UUID) error {
	s, err := openSession(env)
	if err != nil {
		return err
	}
	tok, err := s.source.Token(ctx)
	if err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimRight(s.creds.Server, "/") + "/api/v1/allocations/" + url.PathEscape(id.String()) + "/ssh")
	if err != nil {
		return fmt.Errorf("server address: %w", err)
	}
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}, "User-Agent": {userAgent(env)}}}
	if env.HTTPClient != nil {
		hc := *env.HTTPClient
		hc.Timeout = 0
		opts.HTTPClient = &hc
	}
	c, resp, err := websocket.Dial(ctx, u.String(), opts)
	if err != nil {
		if resp != nil && resp.Body != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if len(b) > 0 {
				return fmt.Errorf("open ssh connection: %s: %s", resp.Status, bytes.TrimSpace(b))
			}
		}
		return fmt.Errorf("open ssh connection: %w", err)
	}
	c.SetReadLimit(1 << 20)
	conn := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(conn, env.Stdin)
		// ssh closed its end: nothing more to send.
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(env.Stdout, conn)
		done <- struct{}{}
	}()
	<-done
	return nil
}

// SSH config block markers: config-ssh owns what lies between them.
const (
	sshConfigStart = "# --- gpuaas start ---"
	sshConfigEnd   = "# --- gpuaas end ---"
)

var hostAliasRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// runConfigSSH writes one Host entry per active allocation into the
// user's ~/.ssh/config, inside a marked block that it replaces each time
// and never touching the rest; --dry-run prints the block instead.
func runConfigSSH(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "config-ssh", "[--dry-run] [--ssh-config PATH] [--gpuaas PATH]")
	dry := fs.Bool("dry-run", false, "print the block instead of writing it")
	path := fs.String("ssh-config", "", "the SSH config file (default ~/.ssh/config)")
	self := fs.String("gpuaas", "", "the gpuaas executable ssh runs as ProxyCommand (default this one)")
	if err := fs.Parse(args); err != nil {
		return errUsage{err}
	}
	if fs.NArg() != 0 {
		return errUsage{errors.New("config-ssh takes no arguments")}
	}
	home := env.Getenv("HOME")
	if *path == "" {
		if home == "" {
			return errors.New("HOME is not set: pass --ssh-config")
		}
		*path = filepath.Join(home, ".ssh", "config")
	}
	if *self == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the gpuaas executable: %w (pass --gpuaas)", err)
		}
		*self = exe
	}
	abs, err := filepath.Abs(*self)
	if err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	var allocs []api.Allocation
	status := api.AllocationStatusActive
	p := api.ListAllocationsParams{Status: &status}
	for {
		page, err := s.client.ListAllocations(ctx, p)
		if err != nil {
			return err
		}
		allocs = append(allocs, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cur := api.Cursor(page.NextCursor)
		p.Cursor = &cur
	}
	knownHosts := filepath.Join(filepath.Dir(*path), "gpuaas_known_hosts")
	block := SSHConfigBlock(allocs, abs, knownHosts)
	if *dry {
		_, err := io.WriteString(env.Stdout, block)
		return err
	}
	old, err := os.ReadFile(*path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", *path, err)
	}
	if err := writeFileAtomic(*path, []byte(ReplaceSSHConfigBlock(string(old), block))); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "wrote %d host(s) to %s\n", len(allocs), *path)
	return nil
}

// SSHConfigBlock is the marked block of Host entries for allocs, each
// reaching its allocation through `gpuaas ssh --stdio` (exe). The agent's
// host key is the node's: it is kept, on first use, in knownHosts.
func SSHConfigBlock(allocs []api.Allocation, exe, knownHosts string) string {
	var b strings.Builder
	b.WriteString(sshConfigStart + "\n")
	b.WriteString("# Written by `gpuaas config-ssh`; run it again to refresh. Edits here are lost.\n")
	seen := map[string]bool{}
	for _, a := range allocs {
		alias := "gpuaas-" + a.Id.String()[:8]
		if hostAliasRE.MatchString(a.Name) && !seen["gpuaas-"+a.Name] {
			alias = "gpuaas-" + a.Name
		}
		if seen[alias] {
			alias = "gpuaas-" + a.Id.String()
		}
		seen[alias] = true
		login := agentproto.UsernameFor(a.Id)
		if a.Connection != nil && a.Connection.Username != "" {
			login = a.Connection.Username
		}
		fmt.Fprintf(&b, "Host %s\n", alias)
		fmt.Fprintf(&b, "  HostName %s\n", a.Id)
		fmt.Fprintf(&b, "  User %s\n", login)
		fmt.Fprintf(&b, "  ProxyCommand %s ssh --stdio %%h\n", quoteSSHConfig(exe))
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", quoteSSHConfig(knownHosts))
		b.WriteString("  StrictHostKeyChecking accept-new\n")
	}
	b.WriteString(sshConfigEnd + "\n")
	return b.String()
}

// quoteSSHConfig quotes a path with spaces for ssh_config.
func quoteSSHConfig(s string) string {
	if strings.ContainsAny(s, " \t") {
		return `"` + s + `"`
	}
	return s
}

// ReplaceSSHConfigBlock puts block in place of the marked block of config,
// or appends it when there is none; everything else stays as it was.
func ReplaceSSHConfigBlock(config, block string) string {
	start := strings.Index(config, sshConfigStart+"\n")
	if start >= 0 && (start == 0 || config[start-1] == '\n') {
		if rel := strings.Index(config[start:], sshConfigEnd); rel >= 0 {
			end := start + rel + len(sshConfigEnd)
			if end < len(config) && config[end] == '\n' {
				end++
			}
			return config[:start] + block + config[end:]
		}
	}
	if config != "" && !strings.HasSuffix(config, "\n") {
		config += "\n"
	}
	if config != "" {
		config += "\n"
	}
	return config + block
}

// writeFileAtomic writes data to path (0600) through a temporary file in
// the same directory and a rename, so a reader never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".gpuaas-ssh-config-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
