package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apps"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/connlimit"
	"github.com/gpuaas/gpuaas/internal/consumer"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/idempotency"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/launchable"
	"github.com/gpuaas/gpuaas/internal/limits"
	"github.com/gpuaas/gpuaas/internal/mail"
	"github.com/gpuaas/gpuaas/internal/nodeauth"
	"github.com/gpuaas/gpuaas/internal/notify"
	"github.com/gpuaas/gpuaas/internal/oidc"
	"github.com/gpuaas/gpuaas/internal/outbox"
	"github.com/gpuaas/gpuaas/internal/payments"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/sshkeys"
	"github.com/gpuaas/gpuaas/internal/stats"
	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/teams"
	"github.com/gpuaas/gpuaas/internal/telemetry"
	"github.com/gpuaas/gpuaas/internal/terminal"
	"github.com/gpuaas/gpuaas/internal/tlsreload"
	"github.com/gpuaas/gpuaas/internal/users"
)

// Version is the control plane's version, set by the binary at start.
var Version = "dev"

// App is the assembled control plane, handed to Options.BeforeServe.
type App struct {
	Config config.Server
	Store  *store.Store
	Users  *users.Service
	// Teams share accounts among people; it resolves whom a request acts for.
	Teams     *teams.Service
	Inventory *inventory.Service
	Auth      *auth.Service
	// OIDC signs users in through the configured OpenID Connect providers.
	OIDC  *oidc.Service
	Audit *audit.Reader
	// Allocations runs the lifecycle; Runtime is where allocations run.
	Allocations *allocation.Service
	Billing     *billing.Billing
	// Limits are the users' spend limits, checked by every create.
	Limits *limits.Service
	// Payments takes top-ups through Stripe (503 payments_disabled
	// without a key).
	Payments *payments.Service
	Notify   *notify.Hub   // live notification websockets
	Inbox    *notify.Inbox // stored notifications
	// Prefs are the users' email preferences; Mailer sends the mail
	// outbox (nil without --smtp-url).
	Prefs  *notify.Preferences
	Mailer *mail.Mailer
	// Sockets caps the user websockets (notifications and terminals) of
	// this replica, per user and in total.
	Sockets *connlimit.Limiter
	SSHKeys *sshkeys.Service
	// Storage is the users' files (503 storage_disabled when no backend
	// is configured).
	Storage  *storage.Service
	NodeAuth *nodeauth.Service
	Agents   *agentgw.Gateway
	// Telemetry buffers the GPU samples of heartbeats and writes them in
	// batches; Metrics reads them back.
	Telemetry *telemetry.Recorder
	Metrics   *telemetry.Reader
	Runtime   allocation.Runtime
	// Launchables is the catalogue of workloads (embedded manifests and
	// --launchables-dir), with the --image-allow policy.
	Launchables *launchable.Catalogue
	Naming      events.Naming
	Limiter     *ratelimit.Limiter
	Hot         kv.Store
	// Terminal mints and consumes single-use terminal tokens.
	Terminal *terminal.Tokens
	// TerminalSessions proxies /ws/terminal sessions and counts them.
	TerminalSessions *terminal.Sessions
	// TerminalOpener is the /ws/terminal use case over the above.
	TerminalOpener *terminal.Opener
	// AppTickets and AppProxy serve the workloads' apps at /apps/….
	AppTickets *apps.Tickets
	AppProxy   *apps.Proxy
	Registry   *prometheus.Registry
	NATS       *nats.Conn
	JetStream  jetstream.JetStream
	Redis      *redis.Client // nil when --redis-url is empty
	Roles      config.Roles
	// SSHOpener is the GET /api/v1/allocations/{id}/ssh use case.
	SSHOpener *terminal.SSHOpener

	// sessions (client websockets) and agentSessions (node agents'
	// connections) are ended at shutdown, in that order, before the pool
	// closes.
	sessions, agentSessions *sessions

	// MetricsURL is http://host:port of the --metrics-listen listener once
	// it is bound; empty when metrics are served on --listen.
	MetricsURL string
}

// Options lets `gpuaas dev` and tests hook into start-up.
type Options struct {
	// BeforeServe runs after migrations and key set-up, before listening;
	// `gpuaas dev` seeds demo data here.
	BeforeServe func(ctx context.Context, app *App) error
	// Ready is called once the listener is bound, with the base URL
	// (http://host:port) clients should use.
	Ready func(baseURL string)
	// Listener, if set, is served instead of binding cfg.Listen.
	Listener net.Listener
}

// Run migrates, starts every configured role and serves until ctx ends.
// cfg must have passed Validate.
func Run(ctx context.Context, cfg config.Server, opts Options) error {
	app, closeApp, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeApp()
	if opts.BeforeServe != nil {
		if err := opts.BeforeServe(ctx, app); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	ln := opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s (--listen): %w", cfg.Listen, err)
		}
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Workers run on their own context: they stop after the websockets
	// (whose ends they may have to process), not at the signal.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var metricsSrv *http.Server
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listen on %s (--metrics-listen): %w", cfg.MetricsListen, err)
		}
		app.MetricsURL = "http://" + mln.Addr().String()
		metricsSrv = &http.Server{Handler: app.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
		go func() {
			if err := metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				slog.Error("metrics listener stopped", "addr", mln.Addr().String(), "err", err)
			}
		}()
		defer metricsSrv.Close()
		slog.Info("metrics serving", "addr", mln.Addr().String())
	}
	var workers sync.WaitGroup
	var relay *outbox.Relay
	if app.Roles["worker"] {
		relay = app.startWorkers(workCtx, &workers)
	}
	if app.Roles["api"] {
		// Agent sessions live on API replicas; their liveness stamps are
		// written from here.
		workers.Go(func() { _ = app.Agents.RunFlusher(workCtx) })
		// GPU samples: one COPY per flush, and the hourly partitions made
		// ahead and dropped past 24 hours.
		workers.Go(func() { _ = app.Telemetry.RunFlusher(workCtx, app.telemetryFlushEvery()) })
		workers.Go(func() { _ = telemetry.RunRetention(workCtx, app.Store) })
	}
	scheme := "http"
	// SIGHUP is caught before the listener serves, so that one sent as soon
	// as the server answers is never the default (which ends the process).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if cfg.TLSCertFile != "" {
		cert, err := tlsreload.Load(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("--tls-cert-file: %w", err)
		}
		ln = tls.NewListener(ln, cert.Config())
		scheme = "https"
		go reloadOnHangup(ctx, hup, cert)
	} else {
		go reloadOnHangup(ctx, hup, nil)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := scheme + "://" + ln.Addr().String()
	app.Agents.SetAdvertiseURL(advertiseURL(cfg.AdvertiseURL, scheme, ln.Addr()))
	slog.Info("control plane serving", "addr", ln.Addr().String(), "roles", cfg.Roles, "public_url", cfg.PublicURL)
	if opts.Ready != nil {
		opts.Ready(base)
	}
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		slog.Info("shutting down: draining requests, sessions, workers and the outbox")
	}
	// closeApp (deferred above) closes the pool only after this returns.
	if err := app.drain(srv, stopWork, &workers, relay); err != nil && serveErr == nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return serveErr
}

// Open connects every dependency, migrates, and assembles the App. The
// returned func closes what it opened.
func Open(ctx context.Context, cfg config.Server) (*App, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*App, func(), error) {
		closeAll()
		return nil, nil, err
	}
	roles, err := config.ParseRoles(cfg.Roles)
	if err != nil {
		return fail(config.Invalid("roles", "%v", err))
	}
	// Validate lets it be empty for `gpuaas dev`, which embeds one; checked
	// here, before any connection is made or migration applied.
	if cfg.NATSURL == "" {
		return fail(config.Invalid("nats-url", "required: allocation events travel over NATS JetStream (gpuaas dev embeds one)"))
	}
	masterKey, err := secrets.LoadMasterKey(cfg.SecretKeyFile)
	if err != nil {
		return fail(fmt.Errorf("--secret-key-file: %w", err))
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return fail(fmt.Errorf("--database-url: %w", err))
	}
	closers = append(closers, st.Close)
	applied, err := store.Migrate(ctx, st.Pool())
	if err != nil {
		return fail(err)
	}
	if len(applied) > 0 {
		slog.Info("applied migrations", "versions", applied)
	}

	app := &App{Config: cfg, Store: st, Roles: roles, Registry: prometheus.NewRegistry(), sessions: newSessions(), agentSessions: newSessions()}
	app.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	app.Registry.MustRegister(stats.NewAllocationsCollector(countAllocations(st)))

	if cfg.RedisURL != "" {
		hot, client, err := kv.OpenRedis(ctx, cfg.RedisURL, "gpuaas:")
		if err != nil {
			return fail(fmt.Errorf("--redis-url: %w", err))
		}
		closers = append(closers, func() { client.Close() })
		app.Hot, app.Redis = hot, client
	} else {
		slog.Warn("no --redis-url: rate limits and the token deny-list live in this process; run a single replica only")
		app.Hot = kv.NewMemory(nil)
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("gpuaas-server"), nats.MaxReconnects(-1))
	if err != nil {
		return fail(fmt.Errorf("--nats-url: connect to %s: %w", cfg.NATSURL, err))
	}
	closers = append(closers, nc.Close)
	app.NATS = nc
	if app.JetStream, err = jetstream.New(nc); err != nil {
		return fail(fmt.Errorf("--nats-url: jetstream: %w", err))
	}
	app.Naming = events.Naming{Namespace: cfg.NATSNamespace}
	if _, err := outbox.EnsureStream(ctx, app.JetStream, app.Naming); err != nil {
		return fail(fmt.Errorf("--nats-url: %w", err))
	}

	if app.Launchables, err = launchable.Load(cfg.LaunchablesDir, cfg.ImageAllow); err != nil {
		return fail(fmt.Errorf("--launchables-dir: %w", err))
	}
	app.Limiter = ratelimit.New(app.Hot, app.Registry)
	idempotency.RegisterMetrics(app.Registry)
	app.Terminal = terminal.New(app.Hot, cfg.TerminalTokenTTL, app.Registry)
	app.TerminalSessions = terminal.NewSessions(terminal.Limits{Idle: cfg.TerminalIdleTimeout, Max: cfg.TerminalMaxSession}, app.Registry)
	app.Users = users.New(st)
	app.Teams = teams.New(st, app.Naming)
	app.SSHKeys = sshkeys.New(st, app.Naming)
	storageCfg, err := storage.FromConfig(cfg)
	if err != nil {
		return fail(err)
	}
	app.Storage = storage.New(st, storageCfg)
	app.Inventory = inventory.New(st, inventory.WithDesiredAgentVersion(Version), inventory.WithNaming(app.Naming))
	app.Audit = audit.NewReader(st)
	// Billing and the lifecycle call each other (a create checks funds, a
	// release closes the usage window; depletion force-releases): billing
	// is built first over a releaser that reaches the lifecycle once built.
	releaser := &depletionReleaser{}
	app.Billing = billing.New(st, app.Naming, releaser, app.Registry)
	app.Limits = limits.New(st, limits.Config{MinRunway: cfg.MinRunway, Defaults: limits.Defaults{
		MaxConcurrentGPUs: cfg.Limits.MaxConcurrentGPUs, MaxMonthlySpendMinor: cfg.Limits.MaxMonthlySpendMinor,
		MaxBurnPerHourMinor: cfg.Limits.MaxBurnPerHourMinor,
	}}, app.Registry)
	app.Allocations = allocation.New(st, allocation.Config{
		Naming:      app.Naming,
		MinRunway:   cfg.MinRunway,
		LockFunds:   app.Billing.LockFunds,
		CheckLimits: app.Limits.Check,
		OpenUsage:   app.Billing.OpenUsageIn,
		CloseUsage:  app.Billing.CloseUsageIn,
		Secrets:     masterSealer(masterKey),
		Health:      app.Launchables.Health,
		StorageMounted: func(ctx context.Context, nodeID uuid.UUID) (bool, string, error) {
			if ok, note, same := app.Storage.MountableEverywhere(); same {
				return ok, note, nil // no need to read the node's region
			}
			n, err := st.GetNode(ctx, nodeID)
			if err != nil {
				return false, "", fmt.Errorf("get node: %w", err)
			}
			ok, note := app.Storage.Mountable(n.Region)
			return ok, note, nil
		},
	}, app.Registry)
	releaser.svc = app.Allocations
	app.Payments = payments.New(st, payments.Config{
		SecretKey: cfg.Payments.StripeSecretKey, WebhookSecrets: cfg.Payments.StripeWebhookSecrets,
		APIURL: cfg.Payments.StripeAPIURL, MinMinor: cfg.Payments.TopupMinMinor, MaxMinor: cfg.Payments.TopupMaxMinor,
		PublicURL: cfg.PublicURL,
	}, app.Naming, app.Registry)
	app.NodeAuth = nodeauth.New(st, nil)
	app.Telemetry = telemetry.NewRecorder(st, app.Registry)
	app.Metrics = telemetry.NewReader(st)
	app.Agents = agentgw.New(st, app.NodeAuth, agentgw.Config{
		HeartbeatInterval: cfg.HeartbeatInterval, ServerVersion: Version, NATS: app.NATS, Namespace: cfg.NATSNamespace,
		// Billing pauses where a node went offline and resumes at the
		// heartbeat that reports the workload running again.
		OnHello: app.Inventory.RecordAgentHello, OnOffline: app.Billing.PauseNode, OnAlive: app.Billing.ResumeNode,
		// GPU telemetry: buffered in memory here, written in batches by
		// the telemetry flusher.
		OnGPUs: app.Telemetry.Observe, OnGone: app.Telemetry.Forget,
	}, app.Registry)
	if cfg.Runtime == "agent" {
		agentRuntime := agentgw.NewRuntime(app.Agents, app.SSHKeys.AllocationKeys)
		app.Runtime = agentRuntime
		reporter := allocation.NewWorker(app.Allocations, app.Runtime)
		app.Agents.SetOnReport(reporter.ReconcileNode)
		app.Agents.SetOnExit(reporter.ReportExits)
		app.Agents.SetOnApps(reporter.ReportApps)
		// Keys that changed while a node was unreachable follow when its
		// agent connects.
		app.Agents.SetOnConnect(sshkeys.NewPusher(st, app.SSHKeys, agentRuntime).PushNode)
	} else {
		app.Runtime = allocation.NewSim(cfg.SimDelay, cfg.SimFailureRate)
	}
	app.Notify = notify.NewHub(app.NATS, app.Naming, app.Registry)
	app.Inbox = notify.NewInbox(st)
	if cfg.Mail.SMTPURL != "" {
		srv, err := mail.ParseServer(cfg.Mail.SMTPURL, cfg.Mail.From)
		if err != nil {
			return fail(fmt.Errorf("--smtp-url: %w", err))
		}
		app.Mailer = mail.NewMailer(st, srv, app.Registry)
	}
	app.Prefs = notify.NewPreferences(st, app.Mailer != nil)
	app.Sockets = connlimit.New(cfg.WebsocketMaxPerUser, cfg.WebsocketMaxTotal, app.Registry)
	app.TerminalOpener = &terminal.Opener{Tokens: app.Terminal, Sessions: app.TerminalSessions, Allocations: app.Allocations,
		Streams: app.Agents, Sockets: app.Sockets, Audit: st.Queries, Unreachable: agentgw.ErrNodeUnreachable}
	app.AppTickets = apps.NewTickets(app.Hot, masterKey)
	app.AppProxy = apps.NewProxy(app.Allocations, app.Agents, app.AppTickets,
		func(ctx context.Context, bearer string) (uuid.UUID, error) {
			p, err := app.Auth.Authenticate(ctx, bearer)
			if err == nil {
				// An API token reaches apps only with the allocations
				// scope, as it needs for an app ticket.
				err = needAlloc.check(p)
			}
			return p.UserID, err
		},
		func(id string) apps.Launchable {
			m, _ := app.Launchables.Get(id)
			return apps.Launchable{KeepPrefix: m.KeepPrefix, TokenEnv: m.TokenEnv}
		})
	app.SSHOpener = &terminal.SSHOpener{Allocations: app.Allocations, Streams: app.Agents, Keys: app.SSHKeys.AllocationKeys,
		Sockets: app.Sockets, Audit: st.Queries, Unreachable: agentgw.ErrNodeUnreachable}
	app.Auth = auth.New(auth.Config{
		Issuer:                cfg.Issuer,
		Audience:              cfg.Audience,
		AccessTTL:             cfg.AccessTokenTTL,
		RefreshTTL:            cfg.RefreshTokenTTL,
		LoginUserFailures:     cfg.LoginUserFailures,
		LoginUserWindow:       cfg.LoginUserWindow,
		LoginIPAttempts:       cfg.LoginIPAttempts,
		LoginIPWindow:         cfg.LoginIPWindow,
		LoginUsernameFailures: cfg.LoginUsernameFailures,

		AdminsOnlyPersonalLogin: cfg.OIDC.PersonalLogin == config.PersonalLoginAdmins,
	}, st, app.Hot, app.Limiter, masterKey, app.Registry)
	app.OIDC = oidc.New(oidc.Config{
		PublicURL: cfg.PublicURL, Providers: cfg.OIDC.Providers,
		JIT: cfg.OIDC.JIT, LinkByEmail: cfg.OIDC.LinkByEmail,
	}, st, app.Hot, app.Auth, app.Users)
	if err := app.Auth.EnsureSigningKey(ctx); err != nil {
		return fail(fmt.Errorf("prepare signing key: %w", err))
	}
	return app, closeAll, nil
}

// startWorkers starts the background duties of the worker role; each stops
// when ctx ends, and wg waits for them. It returns the outbox relay, for a
// last flush at shutdown.
func (a *App) startWorkers(ctx context.Context, wg *sync.WaitGroup) *outbox.Relay {
	worker := allocation.NewWorker(a.Allocations, a.Runtime)
	reconciler := allocation.NewReconciler(worker, a.Config.ProvisionDeadline)
	reconciler.ReleaseDeadline = a.Config.ReleaseDeadline
	reconciler.NodeLostGrace = a.Config.NodeLostGrace
	relay := outbox.NewRelay(a.Store, a.JetStream, a.Naming, a.Registry)
	a.Store.OnEventsCommitted(relay.Kick)
	loops := map[string]func(context.Context) error{
		"outbox relay": relay.Run,
		"provisioner": func(ctx context.Context) error {
			return consumer.Run(ctx, a.JetStream, a.Store, a.Naming,
				consumer.Config{Name: "provisioner", Types: allocation.EventTypes, Concurrency: a.Config.ProvisionerConcurrency}, worker.HandleEvent, a.Registry)
		},
		"billing": func(ctx context.Context) error {
			return consumer.Run(ctx, a.JetStream, a.Store, a.Naming,
				consumer.Config{Name: billing.ConsumerName, Types: billing.EventTypes}, a.Billing.HandleEvent, a.Registry)
		},
		"notify": func(ctx context.Context) error {
			return consumer.Run(ctx, a.JetStream, a.Store, a.Naming,
				consumer.Config{Name: notify.ConsumerName, Types: notify.EventTypes}, a.notifyRelay().HandleEvent, a.Registry)
		},
		"meter":           a.Billing.RunMeter,
		"storage charges": a.Storage.RunCharger,
		"drain sweeper":   func(ctx context.Context) error { a.Allocations.RunDrainSweeper(ctx, 2*time.Second); return nil },
		"node sweeper":    a.Agents.RunSweeper,
		"reconciler":      func(ctx context.Context) error { reconciler.Run(ctx); return nil },
		"housekeeping": func(ctx context.Context) error {
			every(ctx, time.Hour, func() {
				if err := a.Auth.Cleanup(ctx); err != nil {
					slog.Warn("clean up expired refresh tokens", "err", err)
				}
				if _, err := idempotency.Cleanup(ctx, a.Store, 48); err != nil {
					slog.Warn("clean up idempotency keys", "err", err)
				}
				keep := pgtype.Interval{Microseconds: (outbox.StreamMaxAge + 24*time.Hour).Microseconds(), Valid: true}
				if _, err := a.Store.DeleteOldApplied(ctx, keep); err != nil {
					slog.Warn("clean up applied-event records", "err", err)
				}
				if _, err := a.Inbox.Cleanup(ctx); err != nil {
					slog.Warn("clean up read notifications", "err", err)
				}
				if _, err := a.Store.DeleteStalePasswordResets(ctx); err != nil {
					slog.Warn("clean up password reset links", "err", err)
				}
				if _, err := a.Store.DeleteOldPullProgress(ctx, pgtype.Interval{Microseconds: (7 * 24 * time.Hour).Microseconds(), Valid: true}); err != nil {
					slog.Warn("clean up pull progress events", "err", err)
				}
			})
			return nil
		},
	}
	if a.Mailer != nil {
		loops["mailer"] = func(ctx context.Context) error { return a.Mailer.Run(ctx, a.Config.Mail.PollInterval) }
	}
	if a.Payments.Enabled() && a.Config.Payments.ReconcileInterval > 0 {
		loops["payments reconciler"] = func(ctx context.Context) error {
			return a.Payments.RunReconciler(ctx, a.Config.Payments.ReconcileInterval)
		}
	}
	if ks, ok := a.Runtime.(allocation.KeySetter); ok {
		pusher := sshkeys.NewPusher(a.Store, a.SSHKeys, ks)
		loops["ssh keys"] = func(ctx context.Context) error {
			return consumer.Run(ctx, a.JetStream, a.Store, a.Naming,
				consumer.Config{Name: sshkeys.ConsumerName, Types: sshkeys.EventTypes}, pusher.HandleEvent, a.Registry)
		}
	}
	for name, loop := range loops {
		wg.Go(func() {
			// A loop that fails is restarted after a pause: one broken
			// dependency must not stop the others, nor the process.
			for ctx.Err() == nil {
				if err := loop(ctx); err != nil && ctx.Err() == nil {
					slog.Error("worker loop stopped; restarting", "loop", name, "err", err)
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
	return relay
}

// depletionReleaser lets billing force-release allocations at zero balance.
type depletionReleaser struct{ svc *allocation.Service }

func (d *depletionReleaser) ForceRelease(ctx context.Context, id uuid.UUID, reason string) error {
	_, err := d.svc.ForceRelease(ctx, uuid.Nil, id, reason)
	return err
}

// every runs fn now and then every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// advertiseURL is the URL other replicas reach this one at: --advertise-url
// when set, else the bound address, with the hostname standing in for an
// unspecified IP.
func advertiseURL(configured, scheme string, addr net.Addr) string {
	if configured != "" {
		return configured
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// reloadOnHangup reads the TLS certificate again at each SIGHUP until ctx
// ends. Without TLS a SIGHUP is logged and ignored rather than ending the
// process (its default), so `systemctl reload` is always safe.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, cert *tlsreload.Certificate) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if cert == nil {
				slog.Info("SIGHUP: nothing to reload (no --tls-cert-file)")
				continue
			}
			if err := cert.Reload(); err != nil {
				slog.Error("SIGHUP: TLS certificate not reloaded; the one in use stays", "err", err)
			}
		}
	}
}

// masterSealer seals workload secrets with the master key.
type masterSealer []byte

func (k masterSealer) Seal(plaintext []byte, aad string) ([]byte, error) {
	return secrets.Seal(k, plaintext, []byte(aad))
}

func (k masterSealer) Open(sealed []byte, aad string) ([]byte, error) {
	return secrets.Open(k, sealed, []byte(aad))
}

// telemetryFlushEvery is how often buffered GPU samples are written: as
// often as liveness stamps, so a chart lags a heartbeat by at most this.
func (a *App) telemetryFlushEvery() time.Duration {
	return min(a.Config.HeartbeatInterval, 5*time.Second)
}

// notifyRelay is the notification relay, mailing the kinds that matter
// when --smtp-url is set.
func (a *App) notifyRelay() *notify.Relay {
	r := notify.NewRelay(a.NATS, a.Store, a.Naming)
	if a.Mailer != nil {
		r.WithMail(&notify.MailOptions{ConsoleURL: a.Config.PublicURL})
	}
	return r
}
