package auth

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
	"github.com/gpuaas/gpuaas/internal/store"
)

// Config tunes the service. Zero values take the defaults below.
type Config struct {
	// Issuer and Audience are the iss and aud of access tokens; a token
	// minted for another deployment or service is refused.
	Issuer, Audience string
	AccessTTL        time.Duration
	RefreshTTL       time.Duration
	// RefreshReuseGrace is how long after a refresh token is spent the
	// same token still gets its successor back (two tabs refreshing at
	// once) instead of counting as reuse and revoking the session.
	RefreshReuseGrace time.Duration
	// LoginUserFailures failed logins for one username from one address
	// within LoginUserWindow lock that pair (and only that pair) until the
	// window ends.
	LoginUserFailures int
	LoginUserWindow   time.Duration
	// LoginUsernameFailures failed logins for one username from all
	// addresses within LoginUserWindow close the username to every address
	// but the user's usual ones (where they signed in within
	// KnownAddressTTL) until the window ends.
	LoginUsernameFailures int
	// LoginIPAttempts login attempts (failed or not) from one address within
	// LoginIPWindow are allowed; more are refused until the window ends.
	LoginIPAttempts int
	LoginIPWindow   time.Duration
	// AdminsOnlyPersonalLogin refuses password sign-in to everyone but
	// admins (--personal-login=admins): the break-glass way in when the
	// OIDC provider is down.
	AdminsOnlyPersonalLogin bool
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

// Defaults for Config's zero fields.
const (
	DefaultIssuer                = "gpuaas"
	DefaultAudience              = "gpuaas-api"
	DefaultAccessTTL             = 15 * time.Minute
	DefaultRefreshTTL            = 30 * 24 * time.Hour
	DefaultRefreshReuseGrace     = 10 * time.Second
	DefaultLoginUserFailures     = 10
	DefaultLoginUserWindow       = 15 * time.Minute
	DefaultLoginIPAttempts       = 300
	DefaultLoginIPWindow         = time.Minute
	DefaultLoginUsernameFailures = 100
	// KnownAddressTTL is how long a successful sign-in makes its address
	// one of the user's usual addresses.
	KnownAddressTTL = 30 * 24 * time.Hour
)

// leeway is the clock skew tolerated between replicas when checking exp,
// nbf and iat.
const leeway = 30 * time.Second

func (c Config) withDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = DefaultRefreshTTL
	}
	if c.RefreshReuseGrace <= 0 {
		c.RefreshReuseGrace = DefaultRefreshReuseGrace
	}
	if c.LoginUserFailures <= 0 {
		c.LoginUserFailures = DefaultLoginUserFailures
	}
	if c.LoginUserWindow <= 0 {
		c.LoginUserWindow = DefaultLoginUserWindow
	}
	if c.LoginUsernameFailures <= 0 {
		c.LoginUsernameFailures = DefaultLoginUsernameFailures
	}
	if c.LoginUsernameFailures < c.LoginUserFailures {
		c.LoginUsernameFailures = c.LoginUserFailures
	}
	if c.LoginIPAttempts <= 0 {
		c.LoginIPAttempts = DefaultLoginIPAttempts
	}
	if c.LoginIPWindow <= 0 {
		c.LoginIPWindow = DefaultLoginIPWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service authenticates callers. It is safe for concurrent use, and several
// replicas may share one database and kv store.
type Service struct {
	cfg       Config
	st        *store.Store
	hot       kv.Store
	lim       *ratelimit.Limiter
	masterKey []byte
	keys      *keyring
	verified  *verifiedCache

	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec
}

// New returns a Service. masterKey (32 bytes, see package secrets) seals the
// signing keys; every replica must use the same one. reg may be nil. Call
// EnsureSigningKey before serving.
func New(cfg Config, st *store.Store, hot kv.Store, lim *ratelimit.Limiter, masterKey []byte, reg prometheus.Registerer) *Service {
	cfg = cfg.withDefaults()
	if lim == nil {
		lim = ratelimit.New(hot, nil)
	}
	s := &Service{
		cfg:       cfg,
		st:        st,
		hot:       hot,
		lim:       lim,
		masterKey: masterKey,
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_auth_logins_total",
			Help: "Password logins by result (success, invalid_credentials, rate_limited).",
		}, []string{"result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_auth_token_refresh_total",
			Help: "Refresh-token exchanges by result (success, replayed_in_grace, invalid_token, reused).",
		}, []string{"result"}),
	}
	s.keys = newKeyring(s)
	s.verified = newVerifiedCache()
	if reg != nil {
		reg.MustRegister(s.logins, s.refreshes)
	}
	return s
}

func (s *Service) now() time.Time { return s.cfg.Now() }
