package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/google/uuid"
)

// State is what the engine says of an allocation's container.
type State struct {
	AllocationID uuid.UUID
	Status       string // created, running, exited, …
	Running      bool
	ExitCode     int
	OOMKilled    bool
	Error        string
}

func stateOf(c container.InspectResponse) State {
	s := State{}
	if c.Config != nil {
		s.AllocationID, _ = uuid.Parse(c.Config.Labels[LabelAllocation])
	}
	if c.State != nil {
		s.Status, s.Running, s.ExitCode, s.OOMKilled, s.Error = string(c.State.Status), c.State.Running, c.State.ExitCode, c.State.OOMKilled, c.State.Error
	}
	return s
}

// Inspect reports the state of id's container; found is false when there
// is none.
func (r *Runtime) Inspect(ctx context.Context, id uuid.UUID) (s State, found bool, err error) {
	c, err := r.cli.ContainerInspect(ctx, Name(id))
	if errdefs.IsNotFound(err) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("inspect container %s: %w", Name(id), err)
	}
	if c.Config == nil || !managed(c.Config.Labels, id) {
		return State{}, false, nil
	}
	s = stateOf(c)
	if !s.Running && !s.OOMKilled && s.ExitCode == 137 && c.State != nil {
		// The engine sets OOMKilled only when the kernel's OOM event
		// reaches it before the exit; its "oom" event is logged either way.
		if s.OOMKilled, err = r.oomEvent(ctx, c.ID, c.State.StartedAt); err != nil {
			return State{}, false, err
		}
	}
	return s, true, nil
}

// oomEvent says whether the engine logged an "oom" event for container id
// since it started.
func (r *Runtime) oomEvent(ctx context.Context, id, startedAt string) (bool, error) {
	since := "0"
	if t, err := time.Parse(time.RFC3339Nano, startedAt); err == nil {
		since = strconv.FormatInt(t.Add(-time.Second).Unix(), 10)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msgs, errs := r.cli.Events(ctx, events.ListOptions{Since: since, Until: strconv.FormatInt(time.Now().Unix()+1, 10),
		Filters: filters.NewArgs(filters.Arg("container", id), filters.Arg("event", "oom"))})
	for {
		select {
		case <-msgs:
			return true, nil
		case err := <-errs:
			if err == nil || errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("read events of container %s: %w", id, err)
		}
	}
}

// List reports every container this runtime created on the engine, found
// by label: after an agent restart these are the allocations it runs.
func (r *Runtime) List(ctx context.Context) ([]State, error) {
	return r.states(ctx, nil)
}

// Exited reports the containers of this runtime that stopped on their own
// (exited or OOM-killed), with their exit codes: one list call, and an
// inspect only for the stopped ones.
func (r *Runtime) Exited(ctx context.Context) ([]State, error) {
	return r.states(ctx, []filters.KeyValuePair{filters.Arg("status", "exited"), filters.Arg("status", "dead")})
}

// states lists this runtime's containers matching more and inspects each;
// a container that went away or started again in between is left out when
// more asked for stopped ones.
func (r *Runtime) states(ctx context.Context, more []filters.KeyValuePair) ([]State, error) {
	cs, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: r.listFilters(more...)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]State, 0, len(cs))
	for _, c := range cs {
		id, err := uuid.Parse(c.Labels[LabelAllocation])
		if err != nil {
			continue
		}
		s, found, err := r.Inspect(ctx, id)
		if err != nil {
			return nil, err
		}
		if found && (more == nil || !s.Running) {
			out = append(out, s)
		}
	}
	return out, nil
}
