package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/release"
)

// Files in the data dir that self-update keeps.
const (
	// UpdatePendingFile exists from the swap until the new binary has
	// connected (or was rolled back).
	UpdatePendingFile = "update-pending"
	// UpdateFailedFile holds the version last rolled back from; the agent
	// does not try that version again. Delete it to retry.
	UpdateFailedFile = "update-failed"
	// DefaultUpdateDeadline is how long a new binary has to connect
	// before it is rolled back.
	DefaultUpdateDeadline = 2 * time.Minute
	// maxBinary bounds a download.
	maxBinary = 1 << 30
)

// ErrUpdateSkipped is returned by Update for a version this agent already
// rolled back from.
var ErrUpdateSkipped = errors.New("self-update skipped")

// Updater swaps the agent's own executable for the control plane's and
// re-execs it; a new binary that does not connect within Deadline is
// rolled back. The zero value of every optional field is the real thing.
type Updater struct {
	Server     string // control plane base URL
	Credential string // node credential
	DataDir    string
	Version    string // this binary's version

	// Executable is the file to replace; empty is os.Executable with
	// symlinks resolved.
	Executable string
	// Args and Env are what the process is re-executed with; nil is
	// os.Args and os.Environ().
	Args, Env []string
	// Deadline is how long a new binary has to connect; zero is
	// DefaultUpdateDeadline.
	Deadline time.Duration
	// Exec replaces the process; nil is syscall.Exec. It returns only on
	// failure (a test's fake returns nil to say it "ran").
	Exec func(path string, argv, env []string) error
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// HTTP fetches the binary and the JWKS; nil is a client with a
	// generous timeout.
	HTTP *http.Client

	busy     atomic.Bool
	mu       sync.Mutex
	pending  *pendingUpdate
	watchdog *time.Timer
}

// pendingUpdate is the marker written before the swap.
type pendingUpdate struct {
	Executable  string    `json:"executable"`
	Previous    string    `json:"previous"`
	FromVersion string    `json:"from_version"`
	ToVersion   string    `json:"to_version"`
	Deadline    time.Time `json:"deadline"`
}

func (u *Updater) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

func (u *Updater) deadline() time.Duration {
	if u.Deadline > 0 {
		return u.Deadline
	}
	return DefaultUpdateDeadline
}

func (u *Updater) executable() (string, error) {
	if u.Executable != "" {
		return u.Executable, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}

func (u *Updater) exec(path string) error {
	argv, env := u.Args, u.Env
	if argv == nil {
		argv = os.Args
	}
	if env == nil {
		env = os.Environ()
	}
	if u.Exec != nil {
		return u.Exec(path, argv, env)
	}
	return syscall.Exec(path, argv, env)
}

func (u *Updater) client() *http.Client {
	if u.HTTP != nil {
		return u.HTTP
	}
	return &http.Client{Timeout: 10 * time.Minute}
}

// Resume looks for a marker left by an update. When this binary is the
// new one it starts the deadline: Connected before it passes confirms the
// update, otherwise the old binary is put back and executed. A deadline
// already past (the new binary was restarted meanwhile) rolls back now.
func (u *Updater) Resume() {
	p, err := u.readPending()
	if err != nil {
		slog.Warn("self-update: unreadable marker; removing it", "err", err)
		_ = os.Remove(u.path(UpdatePendingFile))
		return
	}
	if p == nil {
		return
	}
	if p.ToVersion != u.Version {
		// The swap never took (or someone put another binary in place).
		slog.Warn("self-update: stale marker; removing it", "to_version", p.ToVersion, "running", u.Version)
		_ = os.Remove(u.path(UpdatePendingFile))
		return
	}
	u.mu.Lock()
	u.pending = p
	left := p.Deadline.Sub(u.now())
	if left > 0 {
		u.watchdog = time.AfterFunc(left, u.expire)
	}
	u.mu.Unlock()
	if left <= 0 {
		u.expire()
		return
	}
	slog.Info("self-update: running the new binary; it must connect before the deadline or it is rolled back",
		"from_version", p.FromVersion, "to_version", p.ToVersion, "deadline", p.Deadline)
}

// Connected confirms a pending update: the new binary reached the control
// plane and got its HelloAck.
func (u *Updater) Connected() {
	u.mu.Lock()
	p := u.pending
	u.pending = nil
	if u.watchdog != nil {
		u.watchdog.Stop()
		u.watchdog = nil
	}
	u.mu.Unlock()
	if p == nil {
		return
	}
	if err := os.Remove(u.path(UpdatePendingFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.Warn("self-update: remove marker", "err", err)
	}
	_ = os.Remove(u.path(UpdateFailedFile))
	slog.Info("self-update confirmed: the new binary connected", "from_version", p.FromVersion, "to_version", p.ToVersion)
}

// expire rolls back the pending update unless it was confirmed meanwhile.
func (u *Updater) expire() {
	u.mu.Lock()
	p := u.pending
	if p != nil && u.now().Before(p.Deadline) {
		p = nil // a clock that moved back; a later Connected or restart decides
	}
	u.pending = nil
	u.mu.Unlock()
	if p == nil {
		return
	}
	slog.Error("self-update: the new binary did not connect before the deadline; rolling back",
		"from_version", p.FromVersion, "to_version", p.ToVersion, "deadline", p.Deadline)
	if err := u.rollback(p); err != nil {
		slog.Error("self-update: rollback failed", "err", err)
	}
}

// rollback puts the previous binary back, remembers the failed version so
// it is not tried again, and executes the previous binary.
func (u *Updater) rollback(p *pendingUpdate) error {
	if err := writeFileAtomic(u.path(UpdateFailedFile), []byte(p.ToVersion+"\n"), 0o600); err != nil {
		slog.Warn("self-update: record failed version", "err", err)
	}
	_ = os.Remove(u.path(UpdatePendingFile))
	if err := os.Rename(p.Previous, p.Executable); err != nil {
		return fmt.Errorf("restore %s: %w", p.Previous, err)
	}
	slog.Warn("self-update rolled back; executing the previous binary", "version", p.FromVersion, "path", p.Executable)
	return u.exec(p.Executable)
}

// failedVersion is the version last rolled back from, or "".
func (u *Updater) failedVersion() string {
	b, err := os.ReadFile(u.path(UpdateFailedFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Update replaces this binary with the control plane's when serverVersion
// is another than ours, and re-execs. It returns nil with nothing done when
// the versions match, ErrUpdateSkipped for a version already rolled back
// from, and an error with the binary untouched when the download does not
// verify. On success it does not return (unless Exec is a fake).
func (u *Updater) Update(ctx context.Context, serverVersion string) error {
	if serverVersion == "" || serverVersion == u.Version {
		return nil
	}
	if v := u.failedVersion(); v == serverVersion {
		return fmt.Errorf("%w: version %s was rolled back before (remove %s to retry)", ErrUpdateSkipped, v, u.path(UpdateFailedFile))
	}
	if !u.busy.CompareAndSwap(false, true) {
		return nil // one update at a time
	}
	defer u.busy.Store(false)
	exe, err := u.executable()
	if err != nil {
		return fmt.Errorf("self-update: find own executable: %w", err)
	}
	tmp, version, err := u.download(ctx, exe)
	if err != nil {
		return fmt.Errorf("self-update: %w", err)
	}
	defer os.Remove(tmp) // gone after the rename; cleans up a failure
	if version == u.Version {
		return nil // a replica of our own version answered
	}
	if v := u.failedVersion(); v == version {
		return fmt.Errorf("%w: version %s was rolled back before (remove %s to retry)", ErrUpdateSkipped, v, u.path(UpdateFailedFile))
	}
	p := &pendingUpdate{Executable: exe, Previous: exe + ".previous", FromVersion: u.Version, ToVersion: version,
		Deadline: u.now().Add(u.deadline()).UTC()}
	if err := u.swap(tmp, p); err != nil {
		return fmt.Errorf("self-update: %w", err)
	}
	slog.Info("self-update: binary swapped; re-executing", "from_version", u.Version, "to_version", version, "path", exe)
	if err := u.exec(exe); err != nil {
		// Still the old process: put the old file back.
		_ = os.Remove(u.path(UpdatePendingFile))
		if rerr := os.Rename(p.Previous, exe); rerr != nil {
			return fmt.Errorf("self-update: exec %s: %v; and restoring the previous binary: %w", exe, err, rerr)
		}
		return fmt.Errorf("self-update: exec %s: %w", exe, err)
	}
	return nil
}

// download fetches and verifies the binary into a temporary file beside
// exe, so the rename into place stays on one filesystem. It returns the
// file and its version.
func (u *Updater) download(ctx context.Context, exe string) (string, string, error) {
	keys, err := u.jwks(ctx)
	if err != nil {
		return "", "", err
	}
	q := url.Values{"platform": {runtime.GOOS + "/" + runtime.GOARCH}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(u.Server, "/")+release.BinaryPath+"?"+q.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+u.Credential)
	resp, err := u.client().Do(req)
	if err != nil {
		return "", "", fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return "", "", fmt.Errorf("download: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	version := resp.Header.Get(release.HeaderVersion)
	want := strings.ToLower(resp.Header.Get(release.HeaderSHA256))
	if version == "" || len(want) != 64 {
		return "", "", errors.New("download: the server sent no version or sha256")
	}
	// Check the signature before writing anything: a binary the platform
	// key did not sign never touches the disk.
	if err := release.Verify(keys, resp.Header.Get(release.HeaderKid), version, want, resp.Header.Get(release.HeaderSignature)); err != nil {
		return "", "", err
	}
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && n > maxBinary {
		return "", "", fmt.Errorf("download: binary of %d bytes is too large", n)
	}
	f, err := os.CreateTemp(filepath.Dir(exe), "."+filepath.Base(exe)+".update-*")
	if err != nil {
		return "", "", fmt.Errorf("temporary file beside %s: %w", exe, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, maxBinary)); err != nil {
		return "", "", fmt.Errorf("download: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", "", fmt.Errorf("download: sha256 %s does not match the signed %s", got, want)
	}
	if err := f.Chmod(0o755); err != nil {
		return "", "", err
	}
	if err := f.Sync(); err != nil {
		return "", "", err
	}
	if err := f.Close(); err != nil {
		return "", "", err
	}
	ok = true
	return f.Name(), version, nil
}

// jwks fetches the keys that verify the binary's signature.
func (u *Updater) jwks(ctx context.Context) (release.Keys, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(u.Server, "/")+"/.well-known/jwks.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: %s", resp.Status)
	}
	var set api.JWKS
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	return release.KeysFromJWKS(set), nil
}

// swap writes the marker, keeps the running binary as p.Previous and moves
// tmp into place. The executable's path always names a whole binary: the
// previous one is kept by a hard link, and the rename is atomic.
func (u *Updater) swap(tmp string, p *pendingUpdate) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(u.DataDir, 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(u.path(UpdatePendingFile), b, 0o600); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	undo := func(err error) error {
		_ = os.Remove(u.path(UpdatePendingFile))
		return err
	}
	if err := os.Remove(p.Previous); err != nil && !errors.Is(err, os.ErrNotExist) {
		return undo(fmt.Errorf("remove old %s: %w", p.Previous, err))
	}
	if err := os.Link(p.Executable, p.Previous); err != nil {
		// No hard links here: fall back to a rename, which leaves the path
		// empty for an instant.
		if err := os.Rename(p.Executable, p.Previous); err != nil {
			return undo(fmt.Errorf("keep the running binary as %s: %w", p.Previous, err))
		}
	}
	if err := os.Rename(tmp, p.Executable); err != nil {
		_ = os.Rename(p.Previous, p.Executable)
		return undo(fmt.Errorf("move the new binary into place: %w", err))
	}
	if d, err := os.Open(filepath.Dir(p.Executable)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func (u *Updater) readPending() (*pendingUpdate, error) {
	b, err := os.ReadFile(u.path(UpdatePendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pendingUpdate
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	if p.Executable == "" || p.Previous == "" || p.ToVersion == "" {
		return nil, errors.New("marker misses fields")
	}
	return &p, nil
}

func (u *Updater) path(name string) string { return filepath.Join(u.DataDir, name) }

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
