package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

func outputFlag(fs *flag.FlagSet) *string {
	return fs.String("o", "table", "output format: table or json")
}

// parseAndOpen is the preamble of most verbs: parse the flags (out is the
// -o flag registered on fs), check the output format,
// and open the saved session.
func parseAndOpen(env Env, fs *flag.FlagSet, args []string, out *string) (*session, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := checkOutput(*out); err != nil {
		return nil, err
	}
	return openSession(env)
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return errUsage{fmt.Errorf("invalid -o %q: want table or json", o)}
	}
	return nil
}

func runSKUs(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "skus", "[-o table|json]")
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	skus, err := sdk.Collect(ctx, s.client.SKUPages(api.ListSkusParams{PageSize: sdk.Ptr(200)}))
	if err != nil {
		return err
	}
	if *out == "json" {
		if skus == nil {
			skus = []api.SKU{}
		}
		return WriteJSON(env.Stdout, skus)
	}
	return WriteSKUs(env.Stdout, skus)
}

func runNodes(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "nodes", "[--status online|offline] [--region ID] [-o table|json]")
	status := fs.String("status", "", "only nodes with this status: online or offline")
	region := fs.String("region", "", "only nodes in this region")
	out := outputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	p := api.ListNodesParams{PageSize: sdk.Ptr(200)}
	if *status != "" {
		st := api.NodeStatus(*status)
		if !st.Valid() {
			return errUsage{fmt.Errorf("invalid --status %q: want online or offline", *status)}
		}
		p.Status = &st
	}
	if *region != "" {
		p.Region = region
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	nodes, err := sdk.Collect(ctx, s.client.NodePages(p))
	if err != nil {
		return err
	}
	if *out == "json" {
		if nodes == nil {
			nodes = []api.Node{}
		}
		return WriteJSON(env.Stdout, nodes)
	}
	return WriteNodes(env.Stdout, nodes)
}
