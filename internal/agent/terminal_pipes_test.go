package agent_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/cli"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// sshResult is one `gpuaas` CLI run.
type sshResult struct {
	code           int
	stdout, stderr string
}

// cliAs signs the CLI into env as username and returns a runner of its
// verbs with the given stdin.
func cliAs(t *testing.T, env *servertest.Env, username string) func(stdin string, args ...string) sshResult {
	t.Helper()
	vars := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": env.URL}
	run := func(stdin string, args ...string) sshResult {
		var out, errb strings.Builder
		e := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }}
		code := cli.Run(ctx, e, args[0], args[1:])
		return sshResult{code, out.String(), errb.String()}
	}
	if r := run(servertest.Password+"\n", "login", "--username", username, "--password-stdin"); r.code != 0 {
		t.Fatalf("login: %d %s", r.code, r.stderr)
	}
	return run
}

// TestSSHCommandWithoutPTY: `gpuaas ssh ALLOC -- CMD` runs the command on
// pipes, as `ssh host cmd` does: stdout and stderr stay apart and keep
// their "\n", stdin is streamed and its EOF reaches the command, each
// stream keeps its order, a signal is 128+n, a background job holding
// stdout does not hold the session, and -t still gives a PTY.
func TestSSHCommandWithoutPTY(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env)
	c, u, a := activeAllocation(t, env)
	run := cliAs(t, env, u.Username)
	ssh := func(stdin string, args ...string) sshResult {
		t.Helper()
		flags, cmd := []string{}, args
		for len(cmd) > 0 && strings.HasPrefix(cmd[0], "-") {
			flags, cmd = append(flags, cmd[0]), cmd[1:]
		}
		all := append(append(append([]string{"ssh"}, flags...), a.Id.String(), "--"), cmd...)
		if len(cmd) == 0 {
			all = all[:len(all)-1]
		}
		return run(stdin, all...)
	}

	if r := ssh("", "sh", "-c", "'echo out; echo err >&2; exit 4'"); r != (sshResult{4, "out\n", "err\n"}) {
		t.Errorf("sh -c 'echo out; echo err >&2; exit 4': got %+v, want exit 4, stdout \"out\\n\", stderr \"err\\n\"", r)
	}
	if r := ssh("a\nb\n", "wc", "-l"); r.code != 0 || strings.TrimSpace(r.stdout) != "2" || r.stderr != "" {
		t.Errorf("printf 'a\\nb\\n' | ssh -- wc -l: got %+v, want 2", r)
	}
	// Bytes through untouched, both ways, and stdin's EOF ends cat.
	var big strings.Builder
	for i := 0; big.Len() < 300<<10; i++ {
		big.WriteString("line ")
		big.WriteString(strings.Repeat("x", i%97))
		big.WriteString("\r\n\x00\x04\n")
	}
	if r := ssh(big.String(), "cat"); r.code != 0 || r.stdout != big.String() {
		t.Errorf("cat of %d bytes: exit %d, %d bytes back, equal %v, stderr %q", big.Len(), r.code, len(r.stdout), r.stdout == big.String(), r.stderr)
	}
	// Each stream in order while both run at once.
	seq := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(strconv.Itoa(i))
			b.WriteByte('\n')
		}
		return b.String()
	}
	r := ssh("", "seq", "1", "40000", "&", "seq", "1", "30000", ">&2;", "wait")
	if r.code != 0 || r.stdout != seq(40000) || r.stderr != seq(30000) {
		t.Errorf("two streams at once: exit %d, stdout %d bytes (ordered %v), stderr %d bytes (ordered %v)",
			r.code, len(r.stdout), r.stdout == seq(40000), len(r.stderr), r.stderr == seq(30000))
	}
	if r := ssh("", "kill", "-TERM", "$$"); r.code != 128+15 {
		t.Errorf("kill -TERM $$: got %+v, want exit 143", r)
	}
	start := time.Now()
	if r := ssh("", "sleep", "20", "&", "echo", "done"); r != (sshResult{0, "done\n", ""}) || time.Since(start) > 10*time.Second {
		t.Errorf("sleep 20 & echo done: got %+v after %v", r, time.Since(start))
	}
	// -t asks for a PTY, as ssh -t: "\r\n" and one stream.
	if r := ssh("", "-t", "sh", "-c", "'echo out; echo err >&2'"); r.code != 0 || r.stdout != "out\r\nerr\r\n" || r.stderr != "" {
		t.Errorf("ssh -t -- sh -c 'echo out; echo err >&2': got %+v, want both on stdout with \\r\\n", r)
	}
	// No command and stdin not a terminal: a shell reading stdin, no PTY.
	if r := ssh("echo sum=$((1+2))\necho oops >&2\nexit 5\n"); r != (sshResult{5, "sum=3\n", "oops\n"}) {
		t.Errorf("script on stdin: got %+v, want exit 5, sum=3, oops", r)
	}
	if r := ssh("", "-t", "-T", "true"); r.code != 2 {
		t.Errorf("-t with -T: got %+v, want a usage error", r)
	}

	// A bad X-Gpuaas-Terminal-Pty is a 400 before the token is spent.
	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + tok.Token}, "X-Gpuaas-Terminal-Pty": {"no"}}
	_, resp, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{HTTPHeader: hdr})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("X-Gpuaas-Terminal-Pty: no: %v %v", resp, err)
	}
	hdr.Set("X-Gpuaas-Terminal-Pty", "0")
	hdr.Set("X-Gpuaas-Terminal-Command", "cat")
	ws, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("the token after the 400: %v", err)
	}
	defer ws.CloseNow()
	readTerminal(t, ws, "session_ready")
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("raw\n")); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"stdin_eof"}`)); err != nil {
		t.Fatal(err)
	}
	closed, out := readTerminal(t, ws, "session_closed")
	if out != "\x01raw\n" || closed["exit_code"] != float64(0) {
		t.Errorf("websocket without a PTY: %q then %v, want \"\\x01raw\\n\" then exit 0", out, closed)
	}

	// Release hangs up a command on pipes too.
	tok, err = c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	hdr.Set("Authorization", "Bearer "+tok.Token)
	hdr.Set("X-Gpuaas-Terminal-Command", "echo started; sleep 600")
	ws2, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	readTerminal(t, ws2, "session_ready")
	if _, p, err := ws2.Read(ctx); err != nil || string(p) != "\x01started\n" {
		t.Fatalf("first output %q %v", p, err)
	}
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	if closed, _ := readTerminal(t, ws2, "session_closed"); closed["exit_code"] != float64(128+1) {
		t.Errorf("released command ended with %v, want exit_code 129 (SIGHUP)", closed)
	}
}

// TestSSHWithoutPTYProcessRuntime: with the process runtime (as root) a
// command on pipes runs as the allocation's Linux user, in its home, with
// the pinned GPU, exactly like the PTY shell; stderr and stdin's EOF work
// through runuser.
func TestSSHWithoutPTYProcessRuntime(t *testing.T) {
	t.Parallel()
	env, _, u, a, rt := processAllocation(t)
	name := process.UsernameFor(a.Id)
	run := cliAs(t, env, u.Username)

	want := fmt.Sprintf("gpus=%s me=%s at=%s\n", a.Gpus[0].Uuid, name, rt.Home(name))
	r := run("", "ssh", a.Id.String(), "--", "echo", "gpus=$CUDA_VISIBLE_DEVICES", "me=$(whoami)", "at=$PWD;", "echo", "err", ">&2;", "exit", "4")
	if r != (sshResult{4, want, "err\n"}) {
		t.Errorf("got %+v, want exit 4, stdout %q, stderr \"err\\n\"", r, want)
	}
	if r := run("a\nb\n", "ssh", a.Id.String(), "--", "wc", "-l"); r.code != 0 || strings.TrimSpace(r.stdout) != "2" {
		t.Errorf("printf 'a\\nb\\n' | ssh -- wc -l: got %+v, want 2", r)
	}
}
