package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/coder/websocket"
	"golang.org/x/term"
)

// exitCodeError makes Run exit with a remote command's exit code.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("remote exit code %d", e.code) }

// runSSH opens a terminal on an allocation over the control plane's
// terminal gateway: `gpuaas ssh ALLOC` is an interactive shell, and
// `gpuaas ssh ALLOC -- CMD...` runs one command; either way the process
// exits with the remote exit code.
//
// A PTY is asked for as ssh(1) does: for a shell when stdin is a terminal,
// never for a command unless -t. Without one (X-Gpuaas-Terminal-Pty: 0) the
// remote stdout and stderr arrive apart, each binary message prefixed with
// its channel byte, and stdin's EOF is passed on as stdin_eof.
func runSSH(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "ssh", "[-t | -T] ALLOC [-- CMD...] | --stdio ALLOC")
	forcePTY := fs.Bool("t", false, "ask for a PTY even for a command or when stdin is not a terminal")
	noPTY := fs.Bool("T", false, "ask for no PTY even for an interactive shell")
	stdio := fs.Bool("stdio", false, "connect stdin and stdout to the allocation's SSH server (for ssh's ProxyCommand; see config-ssh)")
	var command []string
	for i, a := range args {
		if a == "--" {
			command, args = args[i+1:], args[:i]
			break
		}
	}
	id, err := allocArg(fs, args)
	if err != nil {
		return err
	}
	if *forcePTY && *noPTY {
		return errUsage{errors.New("-t and -T exclude each other")}
	}
	if *stdio {
		if *forcePTY || *noPTY || command != nil {
			return errUsage{errors.New("--stdio takes no -t, -T or command")}
		}
		return runSSHStdio(ctx, env, id)
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	tok, err := s.client.MintTerminalToken(ctx, id)
	if err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimRight(s.creds.Server, "/") + "/ws/terminal/" + url.PathEscape(id.String()))
	if err != nil {
		return fmt.Errorf("server address: %w", err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	// Raw mode and the window size when there is a PTY and stdin is a terminal.
	var ttyFd = -1
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ttyFd = int(f.Fd())
	}
	pty := *forcePTY || (len(command) == 0 && ttyFd >= 0 && !*noPTY)
	if !pty {
		ttyFd = -1
	}
	q := url.Values{}
	if ttyFd >= 0 {
		if w, h, err := term.GetSize(ttyFd); err == nil {
			q.Set("cols", strconv.Itoa(w))
			q.Set("rows", strconv.Itoa(h))
		}
	}
	u.RawQuery = q.Encode()
	hdr := http.Header{"Authorization": {"Bearer " + tok.Token}, "User-Agent": {userAgent(env)}}
	if len(command) > 0 {
		hdr.Set("X-Gpuaas-Terminal-Command", strings.Join(command, " "))
	}
	if !pty {
		hdr.Set("X-Gpuaas-Terminal-Pty", "0")
	}
	opts := &websocket.DialOptions{HTTPHeader: hdr}
	if env.HTTPClient != nil {
		hc := *env.HTTPClient
		hc.Timeout = 0 // the websocket lives longer; ctx bounds the dial
		opts.HTTPClient = &hc
	}
	c, _, err := websocket.Dial(ctx, u.String(), opts)
	if err != nil {
		return fmt.Errorf("open terminal: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	if ttyFd >= 0 {
		old, err := term.MakeRaw(ttyFd)
		if err == nil {
			defer term.Restore(ttyFd, old)
		}
		stop := watchResize(ctx, ttyFd, func(cols, rows int) {
			b, _ := json.Marshal(map[string]any{"type": "resize", "cols": cols, "rows": rows})
			_ = c.Write(ctx, websocket.MessageText, b)
		})
		defer stop()
	}
	// Local input → terminal. It ends with the process; a stdin at EOF
	// just stops sending with a PTY, and sends stdin_eof without one.
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := env.Stdin.Read(buf)
			if n > 0 {
				if c.Write(ctx, websocket.MessageBinary, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				if !pty {
					_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"stdin_eof"}`))
				}
				return
			}
		}
	}()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return fmt.Errorf("terminal connection lost: %w", err)
		}
		if typ == websocket.MessageBinary {
			w := env.Stdout
			if !pty { // a channel byte first: 1 stdout, 2 stderr
				if len(b) == 0 || b[0] != 1 && b[0] != 2 {
					continue // a channel this client does not know
				}
				if b[0] == 2 {
					w = env.Stderr
				}
				b = b[1:]
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			continue
		}
		var m struct {
			Type     string `json:"type"`
			Code     string `json:"code"`
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
		}
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch m.Type {
		case "session_closed":
			_ = c.Close(websocket.StatusNormalClosure, "")
			if m.ExitCode != 0 {
				return exitCodeError{m.ExitCode}
			}
			return nil
		case "session_error":
			return errors.New("terminal: " + m.Code + ": " + m.Message)
		}
	}
}
