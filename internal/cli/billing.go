package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

func runBilling(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errUsage{fmt.Errorf("want a subcommand: balance or usage")}
	}
	switch args[0] {
	case "balance":
		return runBillingBalance(ctx, env, args[1:])
	case "usage":
		return runBillingUsage(ctx, env, args[1:])
	}
	return errUsage{fmt.Errorf("unknown subcommand %q: want balance or usage", args[0])}
}

func runBillingBalance(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "balance [-o table|json]")
	out := outputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	var b api.BalanceResponse
	if err := getJSON(ctx, s.client, "/api/v1/billing/balance", &b); err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, b)
	}
	return WriteBalance(env.Stdout, b)
}

func runBillingUsage(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "usage [--allocation ID] [--since TIME] [--until TIME] [-o table|json]")
	alloc := fs.String("allocation", "", "only this allocation's usage")
	since := fs.String("since", "", "only windows running at or after this RFC 3339 time")
	until := fs.String("until", "", "only windows started before this RFC 3339 time")
	out := outputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	q := url.Values{"page_size": {"200"}}
	if *alloc != "" {
		if _, err := uuid.Parse(*alloc); err != nil {
			return errUsage{fmt.Errorf("invalid --allocation %q: want a UUID", *alloc)}
		}
		q.Set("allocation_id", *alloc)
	}
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return errUsage{fmt.Errorf("invalid --%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", name, v)}
		}
		q.Set(name, v)
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	items := []api.UsageRecord{}
	for {
		var page api.UsageList
		if err := getJSON(ctx, s.client, "/api/v1/billing/usage?"+q.Encode(), &page); err != nil {
			return err
		}
		items = append(items, page.Items...)
		if page.NextCursor == "" {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, items)
	}
	return WriteUsage(env.Stdout, items)
}

// getJSON GETs path with the session's token and decodes a 2xx body into
// out; anything else becomes an *sdk.Error like the typed SDK calls give.
func getJSON(ctx context.Context, c *sdk.Client, path string, out any) error {
	resp, err := c.Do(ctx, http.MethodGet, path, nil, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &sdk.Error{Status: resp.StatusCode, CorrelationID: resp.Header.Get("X-Request-ID")}
		var env api.Error
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&env) == nil && env.Code != "" {
			e.Code, e.Message = env.Code, env.Message
		} else {
			e.Code = http.StatusText(resp.StatusCode)
		}
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil {
				e.RetryAfter = time.Duration(n) * time.Second
			}
		}
		return e
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode response: %w", path, err)
	}
	return nil
}

// WriteBalance writes a balance as a short key: value list.
func WriteBalance(w io.Writer, b api.BalanceResponse) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "BALANCE\t%s\n", clean(FormatPrice(b.BalanceMinor, b.Currency)))
	fmt.Fprintf(tw, "UNBILLED\t%s\n", clean(FormatPrice(b.UnbilledMinor, b.Currency)))
	fmt.Fprintf(tw, "BURN RATE\t%s/h\n", clean(FormatPrice(b.BurnRatePerHourMinor, b.Currency)))
	runway := "-"
	if b.RunwaySeconds != nil {
		runway = (time.Duration(*b.RunwaySeconds) * time.Second).String()
	}
	fmt.Fprintf(tw, "RUNWAY\t%s\n", runway)
	return tw.Flush()
}

// WriteUsage writes usage windows as a table; an open window's end is
// "running".
func WriteUsage(w io.Writer, items []api.UsageRecord) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALLOCATION\tSKU\tSTARTED\tENDED\tSECONDS\tAMOUNT")
	for _, it := range items {
		ended := "running"
		if it.EndedAt != nil {
			ended = it.EndedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", it.AllocationId, clean(it.SkuId), it.StartedAt.UTC().Format(time.RFC3339),
			ended, it.Seconds, clean(FormatPrice(it.AmountMinor, it.Currency)))
	}
	return tw.Flush()
}
