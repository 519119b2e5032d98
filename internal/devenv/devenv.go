package devenv

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/server"
)

// Dev defaults that differ from `gpuaas server`.
const (
	DefaultListen      = "127.0.0.1:8080"
	DefaultDataDir     = ".gpuaas-dev"
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/gpuaas_dev?sslmode=disable"
	KeyFileName        = "master.key"
	StorageDirName     = "storage"
)

// Defaults are the settings `gpuaas dev` starts from: the server's, bound
// to loopback, with local state in ./.gpuaas-dev and readable logs.
func Defaults() config.Server {
	c := config.DefaultServer()
	c.Listen = DefaultListen
	c.DataDir = DefaultDataDir
	c.DatabaseURL = DefaultDatabaseURL
	c.LogFormat = "text"
	c.SecretKeyFile = "" // derived from --data-dir by Complete
	// The simulated nodes run in-process agents over the real protocol.
	c.Runtime = "agent"
	return c
}

// Register binds cfg to fs like (*config.Server).Register and rewords the
// flags whose meaning dev changes.
func Register(cfg *config.Server, fs *flag.FlagSet) {
	cfg.Register(fs)
	if f := fs.Lookup("secret-key-file"); f != nil {
		f.Usage += "; dev default <data-dir>/" + KeyFileName + ", generated when missing"
	}
	if f := fs.Lookup("nats-url"); f != nil {
		f.Usage += "; dev starts an embedded JetStream server on a free loopback port when empty"
	}
	if f := fs.Lookup("database-url"); f != nil {
		f.Usage += "; dev creates the database when missing"
	}
	if f := fs.Lookup("storage-fs-root"); f != nil {
		f.Usage += "; dev default <data-dir>/" + StorageDirName + " unless --storage-config is set"
	}
	if f := fs.Lookup("data-dir"); f != nil {
		f.Usage += "; dev keeps its master key, generated password and NATS store here"
	}
}

// Complete fills the settings dev derives from others. Call it after
// parsing flags and before Validate.
func Complete(cfg *config.Server) {
	if cfg.SecretKeyFile == "" && cfg.DataDir != "" {
		cfg.SecretKeyFile = filepath.Join(cfg.DataDir, KeyFileName)
	}
	// Storage works in a first look: an fs backend under the data dir.
	if cfg.StorageFSRoot == "" && cfg.StorageConfig == "" && cfg.DataDir != "" {
		cfg.StorageFSRoot = filepath.Join(cfg.DataDir, StorageDirName)
	}
}

// Options are what Run needs besides the configuration.
type Options struct {
	// Stdout receives the welcome text (URL, accounts, next commands).
	Stdout io.Writer
	// Getenv reads GPUAAS_DEV_PASSWORD; os.Getenv when nil.
	Getenv func(string) string
	// Logger is slog.Default() when nil.
	Logger *slog.Logger
	// Command is how the welcome text spells the binary; "gpuaas" when empty.
	Command string
	// Ready, if set, is called after the welcome text with the base URL.
	Ready func(baseURL string)
}

// Run prepares the dev environment and serves the control plane until ctx
// ends, then stops the embedded NATS server. cfg must have passed Validate.
func Run(ctx context.Context, cfg config.Server, opts Options) error {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Command == "" {
		opts.Command = "gpuaas"
	}
	log := opts.Logger
	if os.Geteuid() == 0 {
		// The sim agents' terminals run as the agent's own OS user, which
		// here is root: fine for a first look on a laptop, never for users.
		log.Warn("gpuaas dev is running as root: browser terminals of simulated allocations get a root shell; production nodes use the process runtime (a Linux user per allocation)")
	}

	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: create %s: %w", dataDir, err)
	}
	cfg.DataDir = dataDir
	created, err := secrets.GenerateKeyFile(cfg.SecretKeyFile)
	if err != nil {
		return fmt.Errorf("--secret-key-file: %w", err)
	}
	if created {
		log.Info("generated master key", "file", cfg.SecretKeyFile)
	}
	password, source, err := DevPassword(dataDir, opts.Getenv)
	if err != nil {
		return err
	}
	if _, err := EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	if cfg.DatabaseURL == DefaultDatabaseURL {
		if err := BindDatabase(ctx, cfg.DatabaseURL, cfg.SecretKeyFile, created, log); err != nil {
			return fmt.Errorf("--database-url: %w", err)
		}
	}

	natsNote := cfg.NATSURL + " (external)"
	if cfg.NATSURL == "" {
		n, err := StartNATS(dataDir, log)
		if err != nil {
			return err
		}
		defer n.Shutdown()
		cfg.NATSURL = n.ClientURL()
		natsNote = cfg.NATSURL + " (embedded, store " + filepath.Join(dataDir, "nats") + ")"
		log.Info("embedded nats started", "url", cfg.NATSURL)
	}

	var agents []simAgent
	waitAgents := func() {}
	err = server.Run(ctx, cfg, server.Options{
		BeforeServe: func(ctx context.Context, app *server.App) error {
			r, err := Seed(ctx, app, password)
			if err != nil {
				if source == FromEnv {
					return fmt.Errorf("seed dev data (check %s): %w", PasswordEnv, err)
				}
				return fmt.Errorf("seed dev data: %w", err)
			}
			log.Info("dev data in place", "region", Region.ID, "skus", len(SKUs()),
				"nodes_created", r.NodesCreated, "accounts_created", r.AccountsCreated)
			if cfg.Runtime == "agent" {
				agents, err = prepareAgents(ctx, app, dataDir)
			}
			return err
		},
		Ready: func(baseURL string) {
			if len(agents) > 0 {
				waitAgents = runAgents(ctx, agents, baseURL, simStoragePath(cfg.StorageFSRoot), cfg.SimDelay)
			}
			writeWelcome(opts.Stdout, welcome{
				URL: baseURL, Password: password, Source: source, DataDir: dataDir,
				NATS: natsNote, Command: opts.Command,
			})
			if opts.Ready != nil {
				opts.Ready(baseURL)
			}
		},
	})
	waitAgents()
	if err == nil {
		log.Info("dev stopped; data kept", "data_dir", dataDir)
	}
	return err
}

type welcome struct {
	URL, Password, DataDir, NATS, Command string
	Source                                PasswordSource
}

func writeWelcome(w io.Writer, v welcome) {
	where := map[PasswordSource]string{
		FromEnv:       "from " + PasswordEnv,
		FromFile:      "kept in " + filepath.Join(v.DataDir, PasswordFile),
		FromGenerated: "generated now, kept in " + filepath.Join(v.DataDir, PasswordFile),
	}[v.Source]
	fmt.Fprintf(w, "\nGPUaaS dev is running at %s\n\nAccounts (password %s):\n", v.URL, where)
	for _, a := range Accounts() {
		fmt.Fprintf(w, "  %-6s (role %s)  password: %s\n", a.Username, a.Role, v.Password)
	}
	fmt.Fprintf(w, `
Try:
  curl %[1]s/healthz
  %[2]s login --server %[1]s --username demo
  %[2]s skus
  %[2]s nodes

Data: %[3]s
NATS: %[4]s
Stop with Ctrl-C; a restart keeps the data and the password.

`, v.URL, v.Command, v.DataDir, v.NATS)
}
