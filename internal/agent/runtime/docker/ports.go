package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/google/uuid"
)

// PublishedPort is the 127.0.0.1 host port the engine gave a container
// port of id; zero when there is none (not running, not published).
func (r *Runtime) PublishedPort(ctx context.Context, id uuid.UUID, p Port) (int, error) {
	c, err := r.cli.ContainerInspect(ctx, Name(id))
	if err != nil {
		return 0, fmt.Errorf("inspect container %s: %w", Name(id), err)
	}
	n, _ := strconv.Atoi(loopbackPort(c, p))
	return n, nil
}

// loopbackPort is the host port the engine published container port p of
// c on at 127.0.0.1 (the only address this runtime publishes on), or "".
func loopbackPort(c container.InspectResponse, p Port) string {
	if c.NetworkSettings == nil {
		return ""
	}
	for _, b := range c.NetworkSettings.Ports[p.natPort()] {
		if b.HostIP == "127.0.0.1" && b.HostPort != "" {
			return b.HostPort
		}
	}
	return ""
}

// ErrNoApp is AppAddr's answer when id has no running container of ours
// that publishes the port.
var ErrNoApp = errors.New("no such app port on this node")

// AppAddr is the loopback address (127.0.0.1:port) where the engine
// published container port port of id's running container: the only
// address the app proxy dials for it. It is remembered until Forget or a
// Release of id, so a busy app does not cost an inspect per connection.
func (r *Runtime) AppAddr(ctx context.Context, id uuid.UUID, port int) (string, error) {
	key := appKey{id, port}
	r.mu.Lock()
	addr, ok := r.addrs[key]
	r.mu.Unlock()
	if ok {
		return addr, nil
	}
	c, err := r.cli.ContainerInspect(ctx, Name(id))
	switch {
	case errdefs.IsNotFound(err):
		return "", ErrNoApp
	case err != nil:
		return "", fmt.Errorf("inspect container %s: %w", Name(id), err)
	case c.Config == nil || !managed(c.Config.Labels, id) || c.State == nil || !c.State.Running:
		return "", ErrNoApp
	}
	hostPort := loopbackPort(c, Port{Port: port})
	if hostPort == "" {
		return "", ErrNoApp
	}
	addr = net.JoinHostPort("127.0.0.1", hostPort)
	r.mu.Lock()
	if r.addrs == nil {
		r.addrs = map[appKey]string{}
	}
	r.addrs[key] = addr
	r.mu.Unlock()
	return addr, nil
}

// Forget drops what AppAddr remembers of id (its container went away or
// stopped answering).
func (r *Runtime) Forget(id uuid.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.addrs {
		if k.id == id {
			delete(r.addrs, k)
		}
	}
}

type appKey struct {
	id   uuid.UUID
	port int
}
