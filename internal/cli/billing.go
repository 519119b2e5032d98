package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

func runBilling(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errUsage{fmt.Errorf("want a subcommand: balance, usage, limits, topup or payments")}
	}
	switch args[0] {
	case "balance":
		return runBillingBalance(ctx, env, args[1:])
	case "usage":
		return runBillingUsage(ctx, env, args[1:])
	case "limits":
		return runBillingLimits(ctx, env, args[1:])
	case "topup":
		return runBillingTopup(ctx, env, args[1:])
	case "payments":
		return runBillingPayments(ctx, env, args[1:])
	}
	return errUsage{fmt.Errorf("unknown subcommand %q: want balance, usage, limits, topup or payments", args[0])}
}

func runBillingLimits(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "limits [-o table|json]")
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	l, err := s.client.SpendLimits(ctx)
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, l)
	}
	return WriteLimits(env.Stdout, l)
}

// WriteLimits writes the spend limits in force with their use: one row per
// limit (and currency), "none" where there is no limit.
func WriteLimits(w io.Writer, l api.SpendLimits) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LIMIT\tUSED\tMAX")
	limit := func(v *int64, f func(int64) string) string {
		if v == nil {
			return "none"
		}
		return f(*v)
	}
	count := func(n int64) string { return fmt.Sprint(n) }
	fmt.Fprintf(tw, "GPUs at once\t%d\t%s\n", l.GpusInUse, limit(l.MaxConcurrentGpus, count))
	for _, u := range l.Usage {
		money := func(n int64) string { return clean(FormatPrice(n, u.Currency)) }
		fmt.Fprintf(tw, "spend this month (%s)\t%s\t%s\n", u.Currency, money(u.MonthSpendMinor), limit(l.MaxMonthlySpendMinor, money))
		fmt.Fprintf(tw, "burn per hour (%s)\t%s\t%s\n", u.Currency, money(u.BurnPerHourMinor), limit(l.MaxBurnPerHourMinor, money))
	}
	return tw.Flush()
}

func runBillingBalance(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "balance [--team SLUG] [-o table|json]")
	team := teamFlag(fs)
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	var b api.BalanceResponse
	if *team != "" {
		b, err = s.client.TeamBalance(ctx, *team)
	} else {
		b, err = s.client.Balance(ctx)
	}
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, b)
	}
	return WriteBalance(env.Stdout, b)
}

func runBillingUsage(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "usage [--allocation ID] [--since TIME] [--until TIME] [--team SLUG] [-o table|json]")
	alloc := fs.String("allocation", "", "only this allocation's usage")
	team := teamFlag(fs)
	since := fs.String("since", "", "only windows running at or after this RFC 3339 time")
	until := fs.String("until", "", "only windows started before this RFC 3339 time")
	out := outputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	p := api.ListUsageParams{PageSize: sdk.Ptr(200)}
	if *team != "" {
		p.Team = team
	}
	if *alloc != "" {
		id, err := uuid.Parse(*alloc)
		if err != nil {
			return errUsage{fmt.Errorf("invalid --allocation %q: want a UUID", *alloc)}
		}
		p.AllocationId = &id
	}
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return errUsage{fmt.Errorf("invalid --%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", name, v)}
		}
		if name == "since" {
			p.Since = &t
		} else {
			p.Until = &t
		}
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	items, err := sdk.Collect(ctx, s.client.UsagePages(p))
	if err != nil {
		return err
	}
	if items == nil {
		items = []api.UsageRecord{}
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, items)
	}
	return WriteUsage(env.Stdout, items)
}

// runBillingTopup starts a Stripe Checkout for a top-up and prints the URL
// to pay at; the credit lands when Stripe confirms the payment.
func runBillingTopup(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "topup --amount-minor N [-o table|json]")
	amount := fs.Int64("amount-minor", 0, "the top-up in minor units of the platform's currency (2500 is USD 25.00)")
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	if *amount <= 0 {
		return errUsage{fmt.Errorf("want --amount-minor, a positive number of minor units")}
	}
	cfg, err := s.client.PaymentsConfig(ctx)
	if err != nil {
		return err
	}
	cs, err := s.client.CreateCheckoutSession(ctx, api.CheckoutSessionRequest{AmountMinor: *amount, Currency: cfg.Currency}, "cli-"+uuid.NewString())
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, cs)
	}
	fmt.Fprintf(env.Stdout, "Pay %s at:\n%s\n(payment %s; it expires %s)\n", clean(FormatPrice(cs.AmountMinor, cs.Currency)),
		clean(cs.Url), cs.Id, cs.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

func runBillingPayments(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "billing", "payments [-o table|json]")
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	l, err := s.client.ListPayments(ctx, api.ListPaymentsParams{PageSize: sdk.Ptr(200)})
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, l.Items)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PAYMENT\tSTARTED\tAMOUNT\tSTATUS\tREFUNDED")
	for _, p := range l.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Id, p.CreatedAt.UTC().Format(time.RFC3339),
			clean(FormatPrice(p.AmountMinor, p.Currency)), p.Status, clean(FormatPrice(p.RefundedMinor, p.Currency)))
	}
	return tw.Flush()
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
