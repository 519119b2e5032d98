package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpuaas/gpuaas/internal/cli"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/store"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2 // bad command line or configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	server.Version = version
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "gpuaas %s\n", version)
		return exitOK
	case "server":
		return runServer(rest, stdout, stderr)
	case "dev":
		return runDev(rest, stdout, stderr)
	case "migrate":
		return runMigrate(rest, stdout, stderr)
	case "create-admin":
		return runCreateAdmin(rest, os.Stdin, stdout, stderr)
	case "rotate-signing-key":
		return runRotateSigningKey(rest, stdout, stderr)
	case "agent":
		return runAgent(rest, stdout, stderr)
	}
	if cli.IsVerb(name) {
		ctx, stop := signalContext()
		defer stop()
		env := cli.OSEnv()
		env.UserAgent = "gpuaas/" + version
		return cli.Run(ctx, env, name, rest)
	}
	fmt.Fprintf(stderr, "gpuaas: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `gpuaas: a self-hostable GPU cloud.

usage: gpuaas <command> [flags]

platform:
  server    run the control plane
  dev       run the control plane with embedded NATS, demo data and accounts
  migrate   apply the database migrations and exit
  create-admin        create an admin account in the database (the first admin)
  rotate-signing-key  make a new access-token signing key the signer
  agent discover      print this host's GPUs and their health as JSON
  version   print the version

cli:
`)
	for _, v := range cli.Verbs() {
		fmt.Fprintf(w, "  %-9s %s\n", v[0], v[1])
	}
	fmt.Fprint(w, `
Run 'gpuaas <command> --help' for its flags. Every flag --foo-bar of server,
dev and migrate can also be set with the environment variable GPUAAS_FOO_BAR.
`)
}

// signalContext ends on the first SIGINT or SIGTERM; a second one kills
// the process the default way, for a shutdown that hangs.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// parseConfig parses args into cfg's flags (with their env twins) and
// validates them. It returns a non-negative exit code when the command
// should stop here (help, or a bad setting).
func parseConfig(name, blurb string, cfg *config.Server, register func(*config.Server, *flag.FlagSet),
	complete func(*config.Server), args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	register(cfg, fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage: gpuaas %s [flags]\n\n%s\n\nflags [env twin] (default):\n", name, blurb)
			config.Usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "gpuaas %s: %v\nRun 'gpuaas %s --help' for the flags.\n", name, err, name)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gpuaas %s: unexpected argument %q\n", name, fs.Arg(0))
		return exitUsage
	}
	if complete != nil {
		complete(cfg)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "gpuaas %s: %v\n", name, err)
		return exitUsage
	}
	return -1
}

func setupLogging(level, format string, w io.Writer) {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // validated by config
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	slog.SetDefault(slog.New(h).With("version", version))
}

func runServer(args []string, stdout, stderr io.Writer) int {
	cfg := config.DefaultServer()
	if code := parseConfig("server", "Run the control plane: API, workers and relays (see --roles).",
		&cfg, (*config.Server).Register, nil, args, stdout, stderr); code >= 0 {
		return code
	}
	setupLogging(cfg.LogLevel, cfg.LogFormat, stderr)
	ctx, stop := signalContext()
	defer stop()
	if err := server.Run(ctx, cfg, server.Options{}); err != nil {
		slog.Error("server stopped", "err", err)
		return exitFailed
	}
	return exitOK
}

func runDev(args []string, stdout, stderr io.Writer) int {
	cfg := devenv.Defaults()
	if code := parseConfig("dev", "Run the whole platform locally: the control plane, an embedded NATS JetStream\n"+
		"server, a demo region, SKUs, simulated GPU nodes and the accounts admin and demo.\n"+
		"GPUAAS_DEV_PASSWORD sets both accounts' password; otherwise one is generated\n"+
		"once and kept in --data-dir.",
		&cfg, devenv.Register, devenv.Complete, args, stdout, stderr); code >= 0 {
		return code
	}
	setupLogging(cfg.LogLevel, cfg.LogFormat, stderr)
	ctx, stop := signalContext()
	defer stop()
	if err := devenv.Run(ctx, cfg, devenv.Options{Stdout: stdout}); err != nil {
		slog.Error("dev stopped", "err", err)
		return exitFailed
	}
	return exitOK
}

// registerMigrate binds the subset of the server's settings that migrate uses.
func registerMigrate(cfg *config.Server, fs *flag.FlagSet) {
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL connection URL")
}

func runMigrate(args []string, stdout, stderr io.Writer) int {
	cfg := config.DefaultServer()
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	registerMigrate(&cfg, fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "usage: gpuaas migrate [flags]\n\nApply the embedded migrations not yet applied, then exit.\n\nflags [env twin] (default):\n")
			config.Usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "gpuaas migrate: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gpuaas migrate: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if u, err := url.Parse(cfg.DatabaseURL); cfg.DatabaseURL == "" || err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		fmt.Fprintf(stderr, "gpuaas migrate: %v\n", config.Invalid("database-url", "want postgres://user@host:port/db"))
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	st, err := store.Open(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas migrate: --database-url (%s): %v\n", config.EnvName("database-url"), err)
		return exitFailed
	}
	defer st.Close()
	applied, err := store.Migrate(ctx, st.Pool())
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %04d\n", v)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas migrate: %v\n", err)
		return exitFailed
	}
	var current int
	if err := st.Pool().QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		fmt.Fprintf(stderr, "gpuaas migrate: read schema version: %v\n", err)
		return exitFailed
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "database is up to date at version %04d\n", current)
	} else {
		fmt.Fprintf(stdout, "database is at version %04d\n", current)
	}
	return exitOK
}
