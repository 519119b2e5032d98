package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/uuid"
)

// ProbeTimeout bounds one readiness probe.
const ProbeTimeout = 2 * time.Second

// Logs opens id's container's stdout and stderr, interleaved as written:
// the last tail lines, then, following, what it writes until it stops.
// The caller reads and closes it; closing (or ctx) ends a follow.
func (r *Runtime) Logs(ctx context.Context, id uuid.UUID, tail int, follow bool) (io.ReadCloser, error) {
	c, err := r.cli.ContainerInspect(ctx, Name(id))
	if errdefs.IsNotFound(err) {
		return nil, ErrNoContainer
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", Name(id), err)
	}
	if c.Config == nil || !managed(c.Config.Labels, id) {
		return nil, ErrNoContainer
	}
	rc, err := r.cli.ContainerLogs(ctx, Name(id), container.LogsOptions{ShowStdout: true, ShowStderr: true,
		Follow: follow, Tail: strconv.Itoa(max(tail, 0))})
	if err != nil {
		return nil, fmt.Errorf("read logs of %s: %w", Name(id), err)
	}
	if c.Config.Tty {
		return rc, nil // a TTY's stream is raw, not multiplexed
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		rc.Close()
		pw.CloseWithError(err)
	}()
	return readCloser{Reader: pr, close: func() error { rc.Close(); return pr.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// Readiness is which ports of one running allocation pass their probe.
type Readiness struct {
	AllocationID uuid.UUID
	// Ready names the ready ports (empty: none yet).
	Ready []string
}

// Readiness probes the ports of every running container of this runtime
// that has some (each for at most ProbeTimeout, all at once). The port the
// workload's Health names is ready when an HTTP GET of its path through
// the published 127.0.0.1 port gets any answer below 500; any other TCP
// port when a connection to the container's own address succeeds (not the
// published port: the engine's userland proxy accepts there whether or not
// the container listens). UDP ports are never probed, so never ready.
func (r *Runtime) Readiness(ctx context.Context) ([]Readiness, error) {
	cs, err := r.cli.ContainerList(ctx, container.ListOptions{Filters: r.listFilters(filters.Arg("status", "running"))})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Readiness
	for _, c := range cs {
		id, err := uuid.Parse(c.Labels[LabelAllocation])
		if err != nil || c.Labels[LabelPorts] == "" {
			continue
		}
		var ports []Port
		if json.Unmarshal([]byte(c.Labels[LabelPorts]), &ports) != nil || len(ports) == 0 {
			continue
		}
		var health *Health
		if h := c.Labels[LabelHealth]; h != "" {
			health = &Health{}
			if json.Unmarshal([]byte(h), health) != nil {
				health = nil
			}
		}
		addr := ""
		if c.NetworkSettings != nil {
			if n := c.NetworkSettings.Networks[Name(id)]; n != nil {
				addr = n.IPAddress
			}
		}
		out = append(out, Readiness{AllocationID: id, Ready: probePorts(ctx, c, ports, health, addr)})
	}
	return out, nil
}

// probePorts probes c's ports at once and names those that answer.
func probePorts(ctx context.Context, c container.Summary, ports []Port, health *Health, addr string) []string {
	ready := make([]bool, len(ports))
	var wg sync.WaitGroup
	for i, p := range ports {
		if p.Protocol == "udp" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
			defer cancel()
			if health != nil && health.Port == p.Port {
				ready[i] = probeHTTP(pctx, publishedPort(c, p.Port), health.Path)
				return
			}
			ready[i] = addr != "" && probeTCP(pctx, net.JoinHostPort(addr, strconv.Itoa(p.Port)))
		}()
	}
	wg.Wait()
	names := []string{}
	for i, ok := range ready {
		if ok {
			names = append(names, ports[i].Name)
		}
	}
	return names
}

// publishedPort is the 127.0.0.1 host port of c's TCP port; 0 if none.
func publishedPort(c container.Summary, port int) int {
	for _, p := range c.Ports {
		if int(p.PrivatePort) == port && p.Type == "tcp" && p.IP == "127.0.0.1" && p.PublicPort != 0 {
			return int(p.PublicPort)
		}
	}
	return 0
}

var probeClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	// A redirect is an answer: the app is up.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func probeHTTP(ctx context.Context, hostPort int, path string) bool {
	if hostPort == 0 {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(hostPort)+path, nil)
	if err != nil {
		return false
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 500
}

func probeTCP(ctx context.Context, addr string) bool {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
