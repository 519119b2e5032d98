//go:build linux

package faults_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/gpuaas/gpuaas/internal/proctest"
)

const natsServerBin = "/usr/sbin/nats-server"

// requirePeers skips the test unless it can run its own Postgres, NATS
// and Redis; it returns the Postgres bin directory.
func requirePeers(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping the fault-injection suite: it must run as root (it starts its own Postgres as the postgres user)")
	}
	if _, err := user.Lookup("postgres"); err != nil {
		t.Skipf("skipping the fault-injection suite: no postgres user (%v)", err)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		t.Skip("skipping the fault-injection suite: no /usr/lib/postgresql/<version>/bin/postgres")
	}
	sort.Slice(bins, func(i, j int) bool { return pgMajor(bins[i]) > pgMajor(bins[j]) })
	pgBin := filepath.Dir(bins[0])
	for _, p := range []string{filepath.Join(pgBin, "initdb"), natsServerBin} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipping the fault-injection suite: %s is missing", p)
		}
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("skipping the fault-injection suite: redis-server is not on PATH")
	}
	return pgBin
}

func pgMajor(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(bin))))
	return n
}

// postgres is a private cluster owned by the postgres user, in a
// directory of its own (t.TempDir is not reachable by that user).
type postgres struct {
	*daemon
	dir  string
	port int
}

func (p *postgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

func startPostgres(ctx context.Context, t *testing.T, pgBin string) *postgres {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	root, err := os.MkdirTemp("", "gpuaas-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) }) // registered first: runs after the daemon's stop
	if err := os.Chown(root, uid, gid); err != nil {
		t.Fatal(err)
	}
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	data := filepath.Join(root, "data")
	// Postgres refuses to run as root: the child runs as postgres (the
	// same as runuser, without a PAM session process between the test
	// and the postmaster, so the pid the test holds is the postmaster's).
	initdb := exec.CommandContext(ctx, filepath.Join(pgBin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = cred
	initdb.Env = append(proctest.BaseEnv(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p := &postgres{dir: root, port: freePort(t)}
	p.daemon = newDaemon(t, "postgres", false, func() *exec.Cmd {
		cmd := exec.Command(filepath.Join(pgBin, "postgres"), "-D", data, "-p", strconv.Itoa(p.port),
			"-k", root, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
			"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "log_min_messages=warning")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = append(proctest.BaseEnv(), "LC_ALL=C")
		return cmd
	})
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady(ctx); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	conn, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE gpuaas"); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *postgres) waitReady(ctx context.Context) error {
	return poll(ctx, 60*time.Second, 100*time.Millisecond, func() (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, p.url("postgres"))
		if err != nil {
			return false, err
		}
		conn.Close(cctx)
		return true, nil
	})
}

// restart is a fast shutdown (SIGINT: sessions are cut, a checkpoint is
// written) and a start on the same port and data.
func (p *postgres) restart(ctx context.Context) error {
	if err := p.signal(syscall.SIGINT, false, 30*time.Second); err != nil {
		return err
	}
	if err := p.start(); err != nil {
		return err
	}
	return p.waitReady(ctx)
}

// natsServer is a JetStream server with its store on disk, so a kill -9
// and a start on the same directory is a crash and a recovery.
type natsServer struct {
	*daemon
	port int
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func startNATS(ctx context.Context, t *testing.T, dir string) *natsServer {
	t.Helper()
	n := &natsServer{port: freePort(t)}
	n.daemon = newDaemon(t, "nats", false, func() *exec.Cmd {
		return exec.Command(natsServerBin, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", dir)
	})
	if err := n.start(); err != nil {
		t.Fatal(err)
	}
	if err := n.waitReady(ctx); err != nil {
		t.Fatalf("nats: %v", err)
	}
	return n
}

func (n *natsServer) waitReady(ctx context.Context) error {
	return poll(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		nc, err := nats.Connect(n.url(), nats.Timeout(time.Second), nats.NoReconnect())
		if err != nil {
			return false, err
		}
		defer nc.Close()
		return true, nil
	})
}

// redisServer keeps nothing on disk: a restart loses every key (token
// buckets, deny-list, login counters), which the control plane must
// survive.
type redisServer struct {
	*daemon
	port int
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func startRedis(ctx context.Context, t *testing.T, dir string) *redisServer {
	t.Helper()
	bin, _ := exec.LookPath("redis-server")
	r := &redisServer{port: freePort(t)}
	r.daemon = newDaemon(t, "redis", false, func() *exec.Cmd {
		cmd := exec.Command(bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", dir)
		return cmd
	})
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	if err := r.waitReady(ctx); err != nil {
		t.Fatalf("redis: %v", err)
	}
	return r
}

func (r *redisServer) waitReady(ctx context.Context) error {
	return poll(ctx, 30*time.Second, 50*time.Millisecond, func() (bool, error) { return tcpUp(r.addr()) })
}

// balancer is the load balancer in front of the replicas: each new TCP
// connection goes to the next replica that accepts it. Agents and API
// clients reach the control plane through it, as they would in a
// deployment, so losing one replica moves them to the other.
type balancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// startBalancer listens at once (its URL is every replica's public URL)
// and forwards to backends; a connection that arrives while no replica
// is up is closed.
func startBalancer(t *testing.T, backends []string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(b.close)
	return b
}

func (b *balancer) url() string { return "http://" + b.ln.Addr().String() }

func (b *balancer) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.proxy(c)
		}()
	}
}

func (b *balancer) track(c net.Conn, add bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if add {
		b.conns[c] = struct{}{}
	} else {
		delete(b.conns, c)
	}
}

func (b *balancer) proxy(c net.Conn) {
	defer c.Close()
	start := int(b.next.Add(1))
	var up net.Conn
	for i := range b.backends {
		var err error
		up, err = net.DialTimeout("tcp", b.backends[(start+i)%len(b.backends)], time.Second)
		if err == nil {
			break
		}
	}
	if up == nil {
		return // no replica up: the client sees the connection close
	}
	defer up.Close()
	b.track(c, true)
	b.track(up, true)
	defer b.track(c, false)
	defer b.track(up, false)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done // either side gone: close both
}

func (b *balancer) close() {
	b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}
