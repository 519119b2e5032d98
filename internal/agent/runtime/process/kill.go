package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// terminateSessions asks systemd-logind, where it runs, to end the user's
// sessions and stop its user manager, which would otherwise restart
// services we kill. It is best effort: killAll is what makes sure.
func (r *Runtime) terminateSessions(ctx context.Context, login string) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return
	}
	if _, err := exec.LookPath("loginctl"); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = r.exec()(ctx, "loginctl", "terminate-user", login)
}

// killAll sends SIGKILL to every live process of uid until none is left or
// KillTimeout passes. It reads /proc itself rather than run pkill: a
// process counts when its real, effective or saved uid is the user's (a
// setuid program the user started has another effective uid, which
// `pkill -u` misses), and zombies do not count, since only their parent can
// make them go and they run nothing.
func (r *Runtime) killAll(ctx context.Context, uid int) error {
	if uid == 0 {
		return errors.New("refusing to kill the processes of uid 0")
	}
	deadline := time.Now().Add(r.killTimeout())
	for {
		n, err := killUID(uid)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill processes of uid %d: %d still alive after %s", uid, n, r.killTimeout())
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kill processes of uid %d: %w", uid, ctx.Err())
		case <-t.C:
		}
	}
}

// killUID signals the live processes of uid once and says how many it found.
func killUID(uid int) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("list processes: %w", err)
	}
	n := 0
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "status"))
		if err != nil {
			continue // gone already
		}
		if !liveOf(data, uid) {
			continue
		}
		n++
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return n, fmt.Errorf("kill %d: %w", pid, err)
		}
	}
	return n, nil
}

// liveOf reads a /proc/PID/status: is it a live process of uid?
func liveOf(status []byte, uid int) bool {
	want := strconv.Itoa(uid)
	match, zombie := false, false
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "State":
			zombie = strings.HasPrefix(strings.TrimSpace(val), "Z")
		case "Uid":
			// real, effective, saved, filesystem
			f := strings.Fields(val)
			for _, u := range f[:min(3, len(f))] {
				if u == want {
					match = true
				}
			}
		}
	}
	return match && !zombie
}
