package process

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A user-database change that meets a lock held outside this process is
// retried; other failures are not.
func TestRunUserDBRetriesWhileLocked(t *testing.T) {
	calls := 0
	locked := &CmdError{Cmd: []string{"useradd"}, ExitCode: 1, Stderr: "useradd: cannot lock /etc/passwd; try again later.\n", Err: errors.New("exit status 1")}
	rt := &Runtime{Exec: func(context.Context, string, ...string) ([]byte, error) {
		calls++
		if calls < 3 {
			return nil, locked
		}
		return []byte("ok"), nil
	}}
	out, err := rt.runUserDB(context.Background(), "useradd", "x")
	if err != nil || string(out) != "ok" || calls != 3 {
		t.Fatalf("out %q, err %v, calls %d; want ok after 3 calls", out, err, calls)
	}

	calls = 0
	rt.Exec = func(context.Context, string, ...string) ([]byte, error) {
		calls++
		return nil, &CmdError{Cmd: []string{"useradd"}, ExitCode: 9, Stderr: "useradd: user 'x' already exists", Err: errors.New("exit status 9")}
	}
	if _, err := rt.runUserDB(context.Background(), "useradd", "x"); exitCode(err) != 9 || calls != 1 {
		t.Fatalf("err %v after %d calls; want exit 9 at once", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rt.Exec = func(context.Context, string, ...string) ([]byte, error) { return nil, locked }
	if _, err := rt.runUserDB(ctx, "useradd", "x"); err == nil || !strings.Contains(err.Error(), "cannot lock") {
		t.Fatalf("err %v; want the lock error once the context is done", err)
	}
}

func TestLiveOf(t *testing.T) {
	status := func(state, uids string) []byte {
		return []byte("Name:\tsleep\nState:\t" + state + "\nUid:\t" + uids + "\nGid:\t0\t0\t0\t0\n")
	}
	cases := []struct {
		state, uids string
		want        bool
	}{
		{"S (sleeping)", "1001\t1001\t1001\t1001", true},
		{"R (running)", "1001\t0\t0\t0", true}, // setuid program the user ran
		{"S (sleeping)", "0\t0\t1001\t0", true},
		{"Z (zombie)", "1001\t1001\t1001\t1001", false},
		{"S (sleeping)", "10010\t10010\t10010\t10010", false},
		{"S (sleeping)", "0\t0\t0\t1001", false}, // fs uid alone does not count
	}
	for _, c := range cases {
		if got := liveOf(status(c.state, c.uids), 1001); got != c.want {
			t.Errorf("state %q uids %q: %v, want %v", c.state, c.uids, got, c.want)
		}
	}
}

func TestDriverParamsProblem(t *testing.T) {
	cases := []struct {
		params string
		warn   bool
	}{
		{"ModifyDeviceFiles: 1\nDeviceFileUID: 0\nDeviceFileGID: 0\nDeviceFileMode: 438\n", true}, // the default, 0666
		{"ModifyDeviceFiles: 1\nDeviceFileMode: 384\n", false},                                    // 0600
		{"ModifyDeviceFiles: 0\nDeviceFileMode: 438\n", false},
		{"", false},
	}
	for _, c := range cases {
		if got := driverParamsProblem([]byte(c.params)) != ""; got != c.warn {
			t.Errorf("%q: warns %v, want %v", c.params, got, c.warn)
		}
	}
}
