package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// HostKeyFile is the agent's SSH host key inside its data dir: made once,
// so that clients see the same host key for every allocation on the node
// across restarts.
const HostKeyFile = "ssh_host_ed25519_key"

// sshd serves SSH connections that arrive on StreamSSH streams: there is
// no listening port; the server relays each connection over the agent's
// own. Public-key authentication only, against the keys the server put in
// the stream's header; sessions land in the allocation's container or, for
// the process runtime, as its Linux user (in sim, as the agent's user).
type sshd struct {
	terms   *terminals
	dataDir string

	once   sync.Once
	signer ssh.Signer
	err    error
}

func newSSHD(cfg Config, terms *terminals) *sshd { return &sshd{terms: terms, dataDir: cfg.DataDir} }

// hostKey loads the host key, making and keeping it (0600) the first time.
// Without a data dir the key lives as long as the process.
func (s *sshd) hostKey() (ssh.Signer, error) {
	s.once.Do(func() { s.signer, s.err = loadHostKey(s.dataDir) })
	return s.signer, s.err
}

func loadHostKey(dir string) (ssh.Signer, error) {
	path := filepath.Join(dir, HostKeyFile)
	if dir != "" {
		if b, err := os.ReadFile(path); err == nil {
			return ssh.ParsePrivateKey(b)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read ssh host key: %w", err)
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ssh host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return signer, nil
	}
	block, err := ssh.MarshalPrivateKey(priv, "gpuaas agent host key")
	if err != nil {
		return nil, fmt.Errorf("encode ssh host key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ssh host key dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("write ssh host key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("keep ssh host key: %w", err)
	}
	slog.Info("agent: made an ssh host key", "path", path, "fingerprint", ssh.FingerprintSHA256(signer.PublicKey()))
	return signer, nil
}

// reply writes the stream's one StreamReply line.
func reply(w io.Writer, r agentproto.StreamReply) error {
	b, _ := json.Marshal(r)
	_, err := w.Write(append(b, '\n'))
	return err
}

// serve answers the SSH stream whose header is raw and runs the SSH
// server on it until the client goes or the allocation is released.
func (s *sshd) serve(stream net.Conn, raw []byte) {
	defer stream.Close()
	var h agentproto.SSHHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		_ = reply(stream, agentproto.StreamReply{Code: agentproto.StreamNotFound, Message: "malformed ssh header"})
		return
	}
	if _, err := uuid.Parse(h.AllocationID); err != nil {
		_ = reply(stream, agentproto.StreamReply{Code: agentproto.StreamNotFound, Message: "bad allocation id"})
		return
	}
	signer, err := s.hostKey()
	if err != nil {
		slog.Error("agent: ssh host key", "err", err)
		_ = reply(stream, agentproto.StreamReply{Code: agentproto.StreamUnsupported, Message: "the agent has no ssh host key"})
		return
	}
	var keys [][]byte
	for _, line := range h.AuthorizedKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err == nil {
			keys = append(keys, k.Marshal())
		}
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			m := key.Marshal()
			for _, k := range keys {
				if bytes.Equal(k, m) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("key not authorized for this allocation")
		},
		ServerVersion: "SSH-2.0-gpuaas",
	}
	cfg.AddHostKey(signer)
	if err := reply(stream, agentproto.StreamReply{OK: true}); err != nil {
		return
	}
	conn, chans, reqs, err := ssh.NewServerConn(stream, cfg)
	if err != nil {
		slog.Info("agent: ssh handshake failed", "allocation_id", h.AllocationID, "err", err)
		return
	}
	defer conn.Close()
	untrack := s.terms.trackFunc(h.AllocationID, func() { _ = conn.Close() })
	defer untrack()
	slog.Info("agent: ssh connection", "allocation_id", h.AllocationID, "user", conn.User())
	go ssh.DiscardRequests(reqs) // no port forwarding, no keepalive answers needed
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.Prohibited, "only sessions: port forwarding is not offered")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(h, ch, creqs)
		}()
	}
	wg.Wait()
	slog.Info("agent: ssh connection ended", "allocation_id", h.AllocationID)
}

// ptyReq is the payload of a "pty-req" request (RFC 4254 6.2).
type ptyReq struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

// windowChange is the payload of a "window-change" request.
type windowChange struct {
	Cols, Rows    uint32
	Width, Height uint32
}

// session runs one session channel: it collects a PTY request, then starts
// the shell, the command or the sftp subsystem, forwards input, window
// changes and output, and ends with the exit status.
func (s *sshd) session(h agentproto.SSHHeader, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var pty *ptyReq
	var proc sessionProc
	resize := func(cols, rows int) {}
	for req := range reqs {
		switch req.Type {
		case "pty-req":
			var p ptyReq
			if proc != nil || ssh.Unmarshal(req.Payload, &p) != nil {
				_ = req.Reply(false, nil)
				continue
			}
			pty = &p
			_ = req.Reply(true, nil)
		case "window-change":
			var w windowChange
			if ssh.Unmarshal(req.Payload, &w) == nil {
				if pty != nil && proc == nil { // before the shell: its first size
					pty.Cols, pty.Rows = w.Cols, w.Rows
				}
				resize(int(w.Cols), int(w.Rows))
			}
			_ = req.Reply(false, nil) // want-reply is false for it
		case "shell", "exec", "subsystem":
			if proc != nil {
				_ = req.Reply(false, nil)
				continue
			}
			spec := procSpec{AllocationID: h.AllocationID, GPUUUIDs: h.GPUUUIDs}
			if pty != nil && req.Type != "subsystem" {
				spec.TTY, spec.Cols, spec.Rows = true, int(pty.Cols), int(pty.Rows)
			}
			if req.Type != "shell" {
				var arg struct{ Value string }
				if ssh.Unmarshal(req.Payload, &arg) != nil {
					_ = req.Reply(false, nil)
					continue
				}
				spec.Command = arg.Value
			}
			if req.Type == "subsystem" {
				if spec.Command != "sftp" {
					_ = req.Reply(false, nil)
					continue
				}
				spec.Command, spec.SFTP = "", true
			}
			p, err := s.terms.start(context.Background(), spec)
			if err != nil {
				slog.Info("agent: ssh session did not start", "allocation_id", h.AllocationID, "request", req.Type, "err", err)
				_ = req.Reply(false, nil)
				if !errors.Is(err, errNoSFTP) {
					_, _ = fmt.Fprintf(ch.Stderr(), "gpuaas: %v\r\n", err)
				}
				continue
			}
			proc = p
			resize = func(cols, rows int) { p.Resize(cols, rows) }
			_ = req.Reply(true, nil)
			go s.run(h, ch, p)
		default: // env and the rest: ignored
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
	// The channel's requests end when the client or the connection
	// closed it: hang up what still runs.
	if proc != nil {
		proc.Close()
	}
}

// run pumps one started session and ends its channel with the exit status.
func (s *sshd) run(h agentproto.SSHHeader, ch ssh.Channel, p sessionProc) {
	go func() {
		_, _ = io.Copy(p.Stdin(), ch)
		p.CloseStdin() // the client's EOF
	}()
	_ = p.Output(ch, ch.Stderr())
	code := p.Wait()
	_ = ch.CloseWrite()
	if code < 0 {
		code = 255
	}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
	_ = ch.Close()
	slog.Info("agent: ssh session ended", "allocation_id", h.AllocationID, "exit_code", code)
}
