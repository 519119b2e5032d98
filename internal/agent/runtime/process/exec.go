package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ExecFunc runs one command and returns its standard output. A failure must
// say what ran and what it printed on standard error; the default returns a
// *CmdError.
type ExecFunc func(ctx context.Context, name string, args ...string) ([]byte, error)

// CmdError is a command that ran and failed, or could not start.
type CmdError struct {
	Cmd []string
	// ExitCode is the command's exit status, or -1 when it did not exit
	// normally (not found, killed by a signal, context done).
	ExitCode int
	Stderr   string
	Err      error
}

func (e *CmdError) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Cmd, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *CmdError) Unwrap() error { return e.Err }

// DefaultExec runs name with exec.CommandContext, without a shell.
func DefaultExec(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child that keeps a pipe open (a daemon forked by a login script)
	// must not hang us once the command itself has exited.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		code := -1
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		}
		return stdout.Bytes(), &CmdError{
			Cmd:      append([]string{name}, args...),
			ExitCode: code,
			Stderr:   stderr.String(),
			Err:      err,
		}
	}
	return stdout.Bytes(), nil
}

// exitCode is the exit status carried by err, or -1.
func exitCode(err error) int {
	var ce *CmdError
	if errors.As(err, &ce) {
		return ce.ExitCode
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// userDBMu serialises this process's changes to /etc/passwd, /etc/shadow and
// /etc/group: useradd and userdel take a lock file and fail at once, rather
// than wait, when another holds it. It is package-wide, not per Runtime,
// because the files are host-wide.
var userDBMu sync.Mutex

// lockRetries and lockBackoff bound the retry when another process (outside
// this package, which the mutex cannot see) holds the user-database lock.
const (
	lockRetries = 8
	lockBackoff = 50 * time.Millisecond
)

// isLockBusy reports whether err is shadow-utils failing to take its lock:
// "cannot lock /etc/passwd; try again later." exits 1 for the passwd and
// shadow files and 10 for the group files.
func isLockBusy(err error) bool {
	var ce *CmdError
	if errors.As(err, &ce) && strings.Contains(ce.Stderr, "cannot lock") {
		return true
	}
	return exitCode(err) == 10
}

// runUserDB runs a user-database command under userDBMu, retrying with
// backoff while the database is locked by someone else.
func (r *Runtime) runUserDB(ctx context.Context, name string, args ...string) ([]byte, error) {
	userDBMu.Lock()
	defer userDBMu.Unlock()
	backoff := lockBackoff
	for attempt := 0; ; attempt++ {
		out, err := r.exec()(ctx, name, args...)
		if err == nil || !isLockBusy(err) || attempt == lockRetries {
			return out, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, fmt.Errorf("%w (while waiting for the user database lock: %v)", err, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
}
