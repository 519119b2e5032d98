package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
)

// pull is one image pull running in the background, shared by every
// provision that needs the image.
type pull struct {
	done     chan struct{}
	err      error // set before done closes
	progress PullProgress
}

// PullProgress is the state of one image pull, summed over its layers.
type PullProgress struct {
	Image   string
	Current int64
	Total   int64
	Status  string
}

// ensureImage makes sure the engine has w's image. A missing one is
// pulled in the background (one pull per image, whoever asks): ensureImage
// waits up to PullWait for it, then answers ErrPulling with the progress,
// and the caller asks again later. A pull that failed is reported once, to
// the next ask, and then forgotten so that a later provision tries again.
func (r *Runtime) ensureImage(ctx context.Context, w Workload) error {
	if _, err := r.cli.ImageInspect(ctx, w.Image); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", w.Image, err)
	}
	auth, err := r.Credentials.For(w.Image)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.pulls == nil {
		r.pulls = map[string]*pull{}
	}
	p, ok := r.pulls[w.Image]
	if !ok {
		p = &pull{done: make(chan struct{}), progress: PullProgress{Image: w.Image, Status: "starting"}}
		r.pulls[w.Image] = p
		go r.runPull(p, w, auth)
	}
	r.mu.Unlock()
	wait := r.PullWait
	if wait <= 0 {
		wait = 20 * time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.done:
		r.mu.Lock()
		if r.pulls[w.Image] == p {
			delete(r.pulls, w.Image)
		}
		r.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		r.mu.Lock()
		pr := p.progress
		r.mu.Unlock()
		return &PullingError{Progress: pr}
	}
}

// PullingError is ErrPulling with how far the pull is.
type PullingError struct{ Progress PullProgress }

func (e *PullingError) Error() string {
	pr := e.Progress
	if pr.Total > 0 {
		return fmt.Sprintf("%v %s: %d of %d MB", ErrPulling, pr.Image, pr.Current>>20, pr.Total>>20)
	}
	return fmt.Sprintf("%v %s: %s", ErrPulling, pr.Image, pr.Status)
}

// Unwrap makes errors.Is(err, ErrPulling) hold.
func (e *PullingError) Unwrap() error { return ErrPulling }

// runPull pulls w's image to its end, under PullTimeout and not under any
// one provision's context.
func (r *Runtime) runPull(p *pull, w Workload, auth string) {
	timeout := r.PullTimeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	defer close(p.done)
	rc, err := r.cli.ImagePull(ctx, w.Image, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		p.err = fmt.Errorf("pull image %s: %w", w.Image, err)
		return
	}
	defer rc.Close()
	p.err = r.readPull(rc, w, func(pr PullProgress) {
		r.mu.Lock()
		p.progress = pr
		r.mu.Unlock()
	})
}

// pullMessage is one line of the engine's pull progress stream.
type pullMessage struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	ProgressDetail struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readPull follows a pull to its end; a pull that fails does so inside the
// stream, after a 200.
func (r *Runtime) readPull(rc io.Reader, w Workload, note func(PullProgress)) error {
	dec := json.NewDecoder(rc)
	layers := map[string][2]int64{}
	last := time.Time{}
	for {
		var m pullMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("pull image %s: read progress: %w", w.Image, err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return fmt.Errorf("pull image %s: %s", w.Image, m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return fmt.Errorf("pull image %s: %s", w.Image, m.Error)
		}
		if m.ID != "" && m.ProgressDetail.Total > 0 {
			layers[m.ID] = [2]int64{m.ProgressDetail.Current, m.ProgressDetail.Total}
		}
		if time.Since(last) > 500*time.Millisecond {
			last = time.Now()
			pr := sumPull(w.Image, m.Status, layers)
			note(pr)
			if r.OnPull != nil {
				r.OnPull(w.AllocationID, pr)
			}
		}
	}
	done := sumPull(w.Image, "pulled", layers)
	done.Current = done.Total
	note(done)
	if r.OnPull != nil {
		r.OnPull(w.AllocationID, done)
	}
	return nil
}

func sumPull(img, status string, layers map[string][2]int64) PullProgress {
	p := PullProgress{Image: img, Status: status}
	for _, l := range layers {
		p.Current += l[0]
		p.Total += l[1]
	}
	return p
}
