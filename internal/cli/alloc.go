package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

// runAlloc dispatches `gpuaas alloc create|ls|get|release`.
func runAlloc(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errUsage{fmt.Errorf("usage: gpuaas alloc create|ls|get|release ...")}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return runAllocCreate(ctx, env, rest)
	case "ls", "list":
		return runAllocList(ctx, env, rest)
	case "get":
		return runAllocGet(ctx, env, rest)
	case "release":
		return runAllocRelease(ctx, env, rest)
	}
	return errUsage{fmt.Errorf("unknown alloc command %q: want create, ls, get or release", sub)}
}

func runAllocCreate(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "alloc", "create --sku ID [--name NAME] [--team SLUG] [--idempotency-key K] [--wait] [-o table|json]")
	sku := fs.String("sku", "", "SKU to allocate (see `gpuaas skus`)")
	team := teamFlag(fs)
	name := fs.String("name", "", "a name for the allocation")
	key := fs.String("idempotency-key", "", "retry-safe key; a repeat with the same key returns the first result (default: random)")
	wait := fs.Bool("wait", false, "wait until the allocation is active (or failed)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long --wait waits")
	out := outputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	if *sku == "" {
		return errUsage{fmt.Errorf("--sku is required")}
	}
	if *key == "" {
		*key = uuid.NewString() // so the SDK's retry of a lost response cannot create twice
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	req := api.CreateAllocationRequest{SkuId: *sku}
	if *name != "" {
		req.Name = name
	}
	if *team != "" {
		req.Team = team
	}
	a, err := s.client.CreateAllocation(ctx, req, *key)
	if err != nil {
		return err
	}
	if *wait {
		if a, err = waitStable(ctx, s.client, a, *timeout); err != nil {
			return err
		}
	}
	return writeAllocations(env.Stdout, *out, a)
}

func runAllocList(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "alloc", "ls [--status S] [--team SLUG] [-o table|json]")
	status := fs.String("status", "", "only allocations in this status")
	team := teamFlag(fs)
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	p := api.ListAllocationsParams{PageSize: sdk.Ptr(200)}
	if *team != "" {
		p.Team = team
	}
	if *status != "" {
		st := api.AllocationStatus(*status)
		p.Status = &st
	}
	list, err := s.client.ListAllocations(ctx, p)
	if err != nil {
		return err
	}
	return writeAllocations(env.Stdout, *out, list.Items...)
}

// allocArg parses flags wherever they stand (`release ID --wait` and
// `release --wait ID` both work) and the one ALLOC argument of get and
// release.
func allocArg(fs *flag.FlagSet, args []string) (uuid.UUID, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return uuid.Nil, errUsage{err}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return uuid.Nil, errUsage{fmt.Errorf("want exactly one allocation id")}
	}
	id, err := uuid.Parse(pos[0])
	if err != nil {
		return uuid.Nil, errUsage{fmt.Errorf("%q is not an allocation id", pos[0])}
	}
	return id, nil
}

func runAllocGet(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "alloc", "get ALLOC [-o table|json]")
	out := outputFlag(fs)
	id, err := allocArg(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	a, err := s.client.GetAllocation(ctx, id)
	if err != nil {
		return err
	}
	return writeAllocations(env.Stdout, *out, a)
}

func runAllocRelease(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "alloc", "release ALLOC [--wait] [-o table|json]")
	wait := fs.Bool("wait", false, "wait until the allocation is released (or release_failed)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long --wait waits")
	out := outputFlag(fs)
	id, err := allocArg(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	a, err := s.client.ReleaseAllocation(ctx, id)
	if err != nil {
		return err
	}
	if *wait {
		if a, err = waitStable(ctx, s.client, a, *timeout); err != nil {
			return err
		}
	}
	return writeAllocations(env.Stdout, *out, a)
}

// stable statuses are where an allocation stays until someone acts.
func stable(s api.AllocationStatus) bool {
	switch s {
	case api.AllocationStatusActive, api.AllocationStatusReleased, api.AllocationStatusFailed, api.AllocationStatusReleaseFailed:
		return true
	}
	return false
}

// waitStable polls until a reaches its next stable status.
func waitStable(ctx context.Context, c *sdk.Client, a api.Allocation, timeout time.Duration) (api.Allocation, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for !stable(a.Status) {
		select {
		case <-ctx.Done():
			return a, fmt.Errorf("allocation %s still %s after %s", a.Id, a.Status, timeout)
		case <-t.C:
		}
		next, err := c.GetAllocation(ctx, a.Id)
		if err != nil {
			return a, err
		}
		a = next
	}
	return a, nil
}

func writeAllocations(w io.Writer, format string, as ...api.Allocation) error {
	if format == "json" {
		if len(as) == 1 {
			return WriteJSON(w, as[0])
		}
		if as == nil {
			as = []api.Allocation{}
		}
		return WriteJSON(w, as)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSKU\tSTATUS\tGPUS\tPRICE/H\tCREATED")
	for _, a := range as {
		status := string(a.Status)
		if a.FailureReason != "" && (a.Status == api.AllocationStatusFailed || a.Status == api.AllocationStatusReleaseFailed) {
			status += " (" + a.FailureReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.Id, clean(a.Name), clean(a.SkuId), clean(status), a.GpuCount,
			clean(FormatPrice(a.PricePerHourMinor, a.Currency)), a.CreatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// teamFlag is --team: act on a team's account (one the user is in)
// instead of their own.
func teamFlag(fs *flag.FlagSet) *string {
	return fs.String("team", "", "a team's slug: its balance pays, and its members see it (see the console's Teams)")
}
