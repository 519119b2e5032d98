package config

import (
	"github.com/gpuaas/gpuaas/internal/tlsreload"

	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
)

// Server is the control plane's configuration, shared by `gpuaas server`
// and `gpuaas dev` (which only changes some defaults).
type Server struct {
	Listen       string
	PublicURL    string
	AdvertiseURL string
	DatabaseURL  string
	// DatabaseMaxConns caps the Postgres pool; 0 keeps pgxpool's default
	// (pool_max_conns in the URL, else the larger of 4 and the CPU count).
	DatabaseMaxConns int
	DataDir          string
	RedisURL         string
	NATSURL          string
	SecretKeyFile    string
	Roles            string

	LogLevel  string
	LogFormat string

	MaxBodyBytes int64
	APIRate      float64
	APIBurst     int
	PageSizeMax  int

	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	Issuer          string
	Audience        string

	LoginUserFailures int
	LoginUserWindow   time.Duration
	LoginIPAttempts   int
	LoginIPWindow     time.Duration
	// LoginUsernameFailures failed logins for one username from all
	// addresses within LoginUserWindow close it to addresses it has not
	// signed in from recently.
	LoginUsernameFailures int
	// TrustedProxies are the comma-separated CIDRs and IPs whose
	// X-Forwarded-For is believed.
	TrustedProxies string

	NATSNamespace     string
	MinRunway         time.Duration
	Runtime           string
	SimDelay          time.Duration
	SimFailureRate    float64
	ProvisionDeadline time.Duration
	// ReleaseDeadline is how long a release may wait for the node before
	// it shows as release_failed (an alarm; it is still retried).
	ReleaseDeadline time.Duration
	// NodeLostGrace is how long (of control-plane time) a node may stay
	// offline before what it holds ends as failed (node_lost).
	NodeLostGrace time.Duration
	// ProvisionerConcurrency is how many allocation events (provisions,
	// releases) one worker replica handles at once.
	ProvisionerConcurrency int
	HeartbeatInterval      time.Duration
	TerminalTokenTTL       time.Duration
	// TerminalIdleTimeout and TerminalMaxSession bound each terminal session.
	TerminalIdleTimeout time.Duration
	TerminalMaxSession  time.Duration

	// InternalStatsToken guards GET /api/v1/internal/stats; empty turns
	// the endpoint off (404).
	InternalStatsToken string

	// WebsocketMaxPerUser caps one user's concurrent websockets
	// (notifications and terminals together) on this replica.
	WebsocketMaxPerUser int
	// WebsocketMaxTotal caps this replica's user websockets; 0 until
	// Validate derives it from the open-file limit.
	WebsocketMaxTotal int

	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string
	// TLSCertFile and TLSKeyFile, when set, make the server speak TLS on
	// --listen itself (read again on SIGHUP).
	TLSCertFile string
	TLSKeyFile  string
	// MetricsListen, when set, serves /metrics on its own address and not
	// on --listen.
	MetricsListen string

	// ImageAllow are the glob patterns (path.Match, against the image
	// reference as the user wrote it) an image of the container launchable
	// must match; none allows no image.
	ImageAllow StringList
	// LaunchablesDir, when set, holds manifests (*.yaml) that override the
	// embedded launchables of the same id and add others.
	LaunchablesDir string

	// StorageFSRoot is the fs backend of every region StorageConfig does
	// not name; StorageConfig a YAML file of backends per region (loaded
	// into Storage by Validate). Neither: storage answers 503.
	StorageFSRoot     string
	StorageConfig     string
	StorageQuotaBytes int64
	Storage           StorageFile

	// OIDC is sign-in through OpenID Connect providers.
	OIDC OIDC

	// Mail is notification email; Limits the default spend limits.
	Mail   Mail
	Limits Limits
	// Payments is top-ups through Stripe.
	Payments Payments
}

// StringList is a flag that may be repeated, each value a comma-separated
// list; empty items are dropped.
type StringList []string

// String implements flag.Value.
func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *StringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// Defaults for `gpuaas server`.
func DefaultServer() Server {
	return Server{
		Listen:                 ":8080",
		DatabaseURL:            "postgres://postgres@127.0.0.1:5432/gpuaas?sslmode=disable",
		DataDir:                "/var/lib/gpuaas",
		Roles:                  "all",
		LogLevel:               "info",
		LogFormat:              "json",
		MaxBodyBytes:           1 << 20,
		APIRate:                50,
		APIBurst:               100,
		AccessTokenTTL:         15 * time.Minute,
		RefreshTokenTTL:        30 * 24 * time.Hour,
		OIDC:                   OIDC{Name: "oidc", JIT: true, PersonalLogin: PersonalLoginAll},
		Audience:               "gpuaas",
		LoginUserFailures:      10,
		LoginUserWindow:        15 * time.Minute,
		LoginIPAttempts:        300,
		LoginIPWindow:          time.Minute,
		LoginUsernameFailures:  100,
		NATSNamespace:          "gpuaas",
		MinRunway:              10 * time.Minute,
		Runtime:                "agent",
		SimDelay:               time.Second,
		ProvisionDeadline:      2 * time.Minute,
		ReleaseDeadline:        10 * time.Minute,
		NodeLostGrace:          10 * time.Minute,
		ProvisionerConcurrency: 16,
		HeartbeatInterval:      10 * time.Second,
		TerminalTokenTTL:       300 * time.Second,
		TerminalIdleTimeout:    15 * time.Minute,
		TerminalMaxSession:     12 * time.Hour,
		WebsocketMaxPerUser:    64,
		StorageQuotaBytes:      DefaultStorageQuotaBytes,
		Mail:                   Mail{PollInterval: 5 * time.Second},
		Payments:               defaultPayments(),
	}
}

// Register binds c's fields to flags on fs; the current values are the defaults.
func (c *Server) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "address the HTTP API listens on (host:port)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "URL users reach the API at; derived from --listen when empty")
	fs.StringVar(&c.AdvertiseURL, "advertise-url", c.AdvertiseURL, "URL other control-plane replicas reach this one at, for relaying terminal streams; derived from the bound listener when empty")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL connection URL")
	fs.IntVar(&c.DatabaseMaxConns, "database-max-conns", c.DatabaseMaxConns, "most PostgreSQL connections this process opens, 2 to 1000; 0: pgxpool's default (pool_max_conns in the URL, else max(4, CPUs))")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for local state (dev NATS, generated keys)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis URL for rate limits and the token deny-list; in-process when empty (single replica only)")
	fs.StringVar(&c.NATSURL, "nats-url", c.NATSURL, "NATS server URL (JetStream enabled)")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile, "file holding the 32-byte master key (raw, hex or base64) that encrypts signing keys")
	fs.StringVar(&c.Roles, "roles", c.Roles, "comma-separated control-plane roles to run: all, api, worker")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or text")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest request body accepted; larger gets 413")
	fs.Float64Var(&c.APIRate, "api-rate", c.APIRate, "per-user API requests per second (token bucket refill)")
	fs.IntVar(&c.APIBurst, "api-burst", c.APIBurst, "per-user API burst (token bucket size)")
	fs.DurationVar(&c.AccessTokenTTL, "access-token-ttl", c.AccessTokenTTL, "lifetime of access tokens (JWT)")
	fs.DurationVar(&c.RefreshTokenTTL, "refresh-token-ttl", c.RefreshTokenTTL, "lifetime of refresh tokens")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "JWT iss claim; the public URL when empty")
	fs.StringVar(&c.Audience, "audience", c.Audience, "JWT aud claim")
	fs.IntVar(&c.LoginUserFailures, "login-user-failures", c.LoginUserFailures, "failed logins allowed per username within --login-user-window")
	fs.DurationVar(&c.LoginUserWindow, "login-user-window", c.LoginUserWindow, "window for --login-user-failures")
	fs.IntVar(&c.LoginIPAttempts, "login-ip-attempts", c.LoginIPAttempts, "login attempts allowed per client IP within --login-ip-window")
	fs.DurationVar(&c.LoginIPWindow, "login-ip-window", c.LoginIPWindow, "window for --login-ip-attempts")
	fs.IntVar(&c.LoginUsernameFailures, "login-username-failures", c.LoginUsernameFailures, "failed logins per username from all addresses within --login-user-window; past it only the user's usual addresses may try")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated CIDRs or IPs of reverse proxies whose X-Forwarded-For is believed; empty trusts none")
	fs.StringVar(&c.NATSNamespace, "nats-namespace", c.NATSNamespace, "prefix of this deployment's NATS subjects and JetStream stream")
	fs.DurationVar(&c.MinRunway, "min-runway", c.MinRunway, "credit a user must hold, in time at the SKU's price, to create an allocation")
	fs.StringVar(&c.Runtime, "runtime", c.Runtime, "where allocations run: sim (simulated in this process) or agent (on their node's agent)")
	fs.DurationVar(&c.SimDelay, "sim-delay", c.SimDelay, "how long the sim runtime takes to provision or release")
	fs.Float64Var(&c.SimFailureRate, "sim-failure-rate", c.SimFailureRate, "fraction (0 to 1) of sim provisions and releases that fail")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", c.HeartbeatInterval, "how often node agents report; a node silent for 3 intervals goes offline")
	fs.DurationVar(&c.TerminalTokenTTL, "terminal-token-ttl", c.TerminalTokenTTL, "lifetime of single-use terminal tokens, 5s to 1h")
	fs.DurationVar(&c.TerminalIdleTimeout, "terminal-idle-timeout", c.TerminalIdleTimeout, "a terminal session with no bytes either way for this long is closed, 1s to 24h")
	fs.DurationVar(&c.TerminalMaxSession, "terminal-max-session", c.TerminalMaxSession, "longest a terminal session may last, 1s to 168h")
	fs.StringVar(&c.InternalStatsToken, "internal-stats-token", c.InternalStatsToken, "bearer token for GET /api/v1/internal/stats; empty turns the endpoint off")
	fs.IntVar(&c.WebsocketMaxPerUser, "websocket-max-per-user", c.WebsocketMaxPerUser, "concurrent websockets (notifications and terminals) one user may hold on this replica; more get 429")
	fs.IntVar(&c.WebsocketMaxTotal, "websocket-max-total", c.WebsocketMaxTotal, "concurrent user websockets this replica accepts; more get 503. 0: half the open-file limit")
	fs.StringVar(&c.MetricsToken, "metrics-token", c.MetricsToken, "bearer token GET /metrics requires; empty leaves it open")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", c.TLSCertFile, "PEM certificate (chain) to serve TLS on --listen with; read again on SIGHUP; with --tls-key-file")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", c.TLSKeyFile, "PEM private key of --tls-cert-file")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "serve /metrics on this host:port instead of --listen; empty serves it on --listen")
	fs.DurationVar(&c.ProvisionDeadline, "provision-deadline", c.ProvisionDeadline, "how long an allocation may stay requested or provisioning before the reconciler retries or fails it, and a release attempt may go unreported before it is retried")
	fs.IntVar(&c.ProvisionerConcurrency, "provisioner-concurrency", c.ProvisionerConcurrency, "allocation events (provisions, releases) a worker replica handles at once, 1 to 256; a runtime call that waits on its node holds one")
	fs.DurationVar(&c.ReleaseDeadline, "release-deadline", c.ReleaseDeadline, "how long a release may go unconfirmed by the node before it shows as release_failed (an operator alarm; it is still retried)")
	fs.Var(&c.ImageAllow, "image-allow", "glob patterns (repeatable or comma-separated, e.g. ci/*,nvcr.io/nvidia/*) an image of the container launchable must match as written; none allows no image (400 image_not_allowed)")
	fs.StringVar(&c.LaunchablesDir, "launchables-dir", c.LaunchablesDir, "directory of launchable manifests (*.yaml) that override the embedded ones by id and add others; empty uses the embedded catalogue")
	fs.StringVar(&c.StorageFSRoot, "storage-fs-root", c.StorageFSRoot, "directory holding users' storage namespaces (the fs backend) for every region --storage-config does not name; the region's nodes mount the same filesystem at the same path")
	fs.StringVar(&c.StorageConfig, "storage-config", c.StorageConfig, "YAML file naming a storage backend per region (fs with a path, or s3 with endpoint, bucket, prefix, key files); see docs/storage.md")
	fs.Int64Var(&c.StorageQuotaBytes, "storage-quota-bytes", c.StorageQuotaBytes, "a storage namespace's quota in bytes unless an admin overrides it")
	c.OIDC.register(fs)
	c.Mail.register(fs)
	c.Limits.register(fs)
	c.Payments.register(fs)
	fs.DurationVar(&c.NodeLostGrace, "node-lost-grace", c.NodeLostGrace, "how long a node may stay offline, counted while the control plane is up, before its allocations end as failed (node_lost)")
}

// Validate checks every setting and fills derived ones. The error names the
// first bad setting of each kind.
func (c *Server) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add(Invalid("listen", "want host:port, got %q", c.Listen))
	}
	if c.DatabaseURL == "" {
		add(Invalid("database-url", "required"))
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		add(Invalid("database-url", "want postgres://user@host:port/db, got %q", redact(c.DatabaseURL)))
	}
	if c.DatabaseMaxConns != 0 && (c.DatabaseMaxConns < 2 || c.DatabaseMaxConns > 1000) {
		add(Invalid("database-max-conns", "must be 0 (pgxpool's default) or 2 to 1000, got %d", c.DatabaseMaxConns))
	}
	if c.DataDir == "" {
		add(Invalid("data-dir", "required"))
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			add(Invalid("redis-url", "want redis://host:port/db, got %q", redact(c.RedisURL)))
		}
	}
	if c.NATSURL != "" {
		if u, err := url.Parse(c.NATSURL); err != nil || (u.Scheme != "nats" && u.Scheme != "tls") {
			add(Invalid("nats-url", "want nats://host:port, got %q", redact(c.NATSURL)))
		}
	}
	if c.SecretKeyFile == "" {
		add(Invalid("secret-key-file", "required: a file with a 32-byte key (generate one with `head -c 32 /dev/urandom > FILE`)"))
	}
	roles, err := ParseRoles(c.Roles)
	if err != nil {
		add(Invalid("roles", "%v", err))
	} else if !roles.All() && c.RedisURL == "" {
		add(Invalid("redis-url", "required when --roles splits the control plane (%s): rate limits and the deny-list must be shared", c.Roles))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(Invalid("log-level", "want debug, info, warn or error, got %q", c.LogLevel))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		add(Invalid("log-format", "want json or text, got %q", c.LogFormat))
	}
	if c.MaxBodyBytes < 1024 {
		add(Invalid("max-body-bytes", "must be at least 1024, got %d", c.MaxBodyBytes))
	}
	if c.APIRate <= 0 {
		add(Invalid("api-rate", "must be positive, got %v", c.APIRate))
	}
	if c.APIBurst < 1 {
		add(Invalid("api-burst", "must be at least 1, got %d", c.APIBurst))
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		add(Invalid("access-token-ttl", "must be between 1m and 24h, got %s", c.AccessTokenTTL))
	}
	if c.RefreshTokenTTL < c.AccessTokenTTL {
		add(Invalid("refresh-token-ttl", "must be at least --access-token-ttl, got %s", c.RefreshTokenTTL))
	}
	if c.Audience == "" {
		add(Invalid("audience", "required"))
	}
	if c.LoginUserFailures < 1 {
		add(Invalid("login-user-failures", "must be at least 1"))
	}
	if c.LoginUserWindow <= 0 {
		add(Invalid("login-user-window", "must be positive"))
	}
	if c.LoginIPAttempts < 1 {
		add(Invalid("login-ip-attempts", "must be at least 1"))
	}
	if c.LoginIPWindow <= 0 {
		add(Invalid("login-ip-window", "must be positive"))
	}
	if c.LoginUsernameFailures < c.LoginUserFailures {
		add(Invalid("login-username-failures", "must be at least --login-user-failures (%d), got %d", c.LoginUserFailures, c.LoginUsernameFailures))
	}
	if _, err := ParseTrustedProxies(c.TrustedProxies); err != nil {
		add(Invalid("trusted-proxies", "%v", err))
	}
	if !regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`).MatchString(c.NATSNamespace) {
		add(Invalid("nats-namespace", "want 1 to 32 of a-z 0-9 _ -, starting with a letter, got %q", c.NATSNamespace))
	}
	if c.MinRunway < 0 {
		add(Invalid("min-runway", "must not be negative"))
	}
	if c.Runtime != "sim" && c.Runtime != "agent" {
		add(Invalid("runtime", "want sim or agent, got %q", c.Runtime))
	}
	if c.SimDelay < 0 || c.SimDelay > time.Hour {
		add(Invalid("sim-delay", "must be between 0 and 1h"))
	}
	if c.SimFailureRate < 0 || c.SimFailureRate > 1 {
		add(Invalid("sim-failure-rate", "must be between 0 and 1"))
	}
	if c.HeartbeatInterval < 50*time.Millisecond || c.HeartbeatInterval > 10*time.Minute {
		add(Invalid("heartbeat-interval", "must be between 50ms and 10m"))
	}
	if c.ProvisionDeadline < time.Second {
		add(Invalid("provision-deadline", "must be at least 1s"))
	}
	if c.ReleaseDeadline < time.Second {
		add(Invalid("release-deadline", "must be at least 1s"))
	}
	if c.ProvisionerConcurrency < 1 || c.ProvisionerConcurrency > 256 {
		add(Invalid("provisioner-concurrency", "must be 1 to 256, got %d", c.ProvisionerConcurrency))
	}
	if c.NodeLostGrace < time.Second {
		add(Invalid("node-lost-grace", "must be at least 1s"))
	}
	if c.TerminalTokenTTL < 5*time.Second || c.TerminalTokenTTL > time.Hour {
		add(Invalid("terminal-token-ttl", "must be between 5s and 1h, got %s", c.TerminalTokenTTL))
	}
	if c.TerminalIdleTimeout < time.Second || c.TerminalIdleTimeout > 24*time.Hour {
		add(Invalid("terminal-idle-timeout", "must be between 1s and 24h, got %s", c.TerminalIdleTimeout))
	}
	if c.TerminalMaxSession < time.Second || c.TerminalMaxSession > 168*time.Hour {
		add(Invalid("terminal-max-session", "must be between 1s and 168h, got %s", c.TerminalMaxSession))
	}
	for _, pat := range c.ImageAllow {
		if _, err := path.Match(pat, ""); err != nil {
			add(Invalid("image-allow", "bad glob pattern %q: %v", pat, err))
		}
	}
	if c.WebsocketMaxPerUser < 1 {
		add(Invalid("websocket-max-per-user", "must be at least 1, got %d", c.WebsocketMaxPerUser))
	}
	fileLimit, haveLimit := OpenFileLimit()
	switch {
	case c.WebsocketMaxTotal < 0:
		add(Invalid("websocket-max-total", "must not be negative, got %d", c.WebsocketMaxTotal))
	case c.WebsocketMaxTotal == 0:
		c.WebsocketMaxTotal = DefaultWebsocketMaxTotal(fileLimit, haveLimit)
	case haveLimit && uint64(c.WebsocketMaxTotal) >= fileLimit:
		add(Invalid("websocket-max-total", "must be below the open-file limit (%d; raise it with ulimit -n or LimitNOFILE=), got %d", fileLimit, c.WebsocketMaxTotal))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			add(Invalid("metrics-listen", "want host:port, got %q", c.MetricsListen))
		} else if c.MetricsListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			add(Invalid("metrics-listen", "must differ from --listen (%s)", c.Listen))
		}
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < 16 || strings.ContainsAny(c.MetricsToken, " \t\r\n")) {
		add(Invalid("metrics-token", "want at least 16 characters without spaces"))
	}
	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		name := "tls-key-file"
		if c.TLSCertFile == "" {
			name = "tls-cert-file"
		}
		add(Invalid(name, "--tls-cert-file and --tls-key-file go together"))
	case c.TLSCertFile != "":
		if err := tlsreload.Check(c.TLSCertFile, c.TLSKeyFile); err != nil {
			add(Invalid("tls-cert-file", "%v", err))
		}
	}
	c.validateStorage(add)
	c.OIDC.validate(add)
	c.Mail.validate(add)
	c.Limits.validate(add)
	c.Payments.validate(add)
	if c.PublicURL == "" && len(errs) == 0 {
		host, port, _ := net.SplitHostPort(c.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		scheme := "http://"
		if c.TLSCertFile != "" {
			scheme = "https://"
		}
		c.PublicURL = scheme + net.JoinHostPort(host, port)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(Invalid("public-url", "want http(s)://host[:port], got %q", c.PublicURL))
		}
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.AdvertiseURL != "" {
		if u, err := url.Parse(c.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(Invalid("advertise-url", "want http(s)://host[:port], got %q", c.AdvertiseURL))
		}
	}
	if c.Issuer == "" {
		c.Issuer = c.PublicURL
	}
	return errors.Join(errs...)
}

// ParseTrustedProxies parses --trusted-proxies: comma-separated CIDRs or
// single IPs (a single IP is its own /32 or /128).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.Contains(p, "/") {
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return nil, fmt.Errorf("want CIDRs or IPs, got %q", p)
			}
			out = append(out, pfx.Masked())
			continue
		}
		ip, err := netip.ParseAddr(p)
		if err != nil {
			return nil, fmt.Errorf("want CIDRs or IPs, got %q", p)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// Roles is the set of control-plane roles this process runs.
type Roles map[string]bool

// KnownRoles lists every role a process can run.
var KnownRoles = []string{"api", "worker"}

// ParseRoles parses "all" or a comma-separated subset of KnownRoles.
func ParseRoles(s string) (Roles, error) {
	r := Roles{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch p {
		case "all":
			for _, k := range KnownRoles {
				r[k] = true
			}
		case "api", "worker":
			r[p] = true
		case "":
		default:
			return nil, errors.New("unknown role " + p + " (want all, api, worker)")
		}
	}
	if len(r) == 0 {
		return nil, errors.New("no role given")
	}
	return r, nil
}

// All reports whether every known role runs in this process.
func (r Roles) All() bool {
	for _, k := range KnownRoles {
		if !r[k] {
			return false
		}
	}
	return true
}

// redact drops the password of a URL so it can go in an error message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
