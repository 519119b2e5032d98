package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/users"
)

// StateTTL is how long a started sign-in may take to come back.
const StateTTL = 10 * time.Minute

// leeway is the clock skew tolerated on the ID token's expiry.
const leeway = time.Minute

// Error codes a failed callback carries to /login?error=<code>.
const (
	CodeUnknownProvider = "unknown_provider"
	CodeInvalidState    = "invalid_state"
	CodeProviderError   = "provider_error"
	CodeProviderDown    = "provider_unavailable"
	CodeInvalidIDToken  = "invalid_id_token"
	CodeNonceMismatch   = "nonce_mismatch"
	CodeSignupDisabled  = "signup_disabled"
	CodeAccountExists   = "account_exists"
	CodeSuspended       = auth.CodeAccountSuspended
	CodeServerError     = "server_error"
)

// Error is a failed sign-in: Code is safe to show, Err is for the log.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code string, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Config is what the service needs besides its peers.
type Config struct {
	// PublicURL is where users reach us; callbacks go to
	// PublicURL/api/v1/auth/oidc/{provider}/callback.
	PublicURL   string
	Providers   []config.OIDCProvider
	JIT         bool
	LinkByEmail bool
	// HTTPClient talks to the providers; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Now is the clock ID tokens are checked against; time.Now when nil.
	Now func() time.Time
}

// Service runs OIDC sign-ins. It is safe for concurrent use.
type Service struct {
	cfg       Config
	providers map[string]*provider
	order     []string
	hot       kv.Store
	st        *store.Store
	auth      *auth.Service
	users     *users.Service
}

// provider is one configured provider; its discovery is done at first use
// and kept (go-oidc refetches the keys when a token names an unknown kid).
type provider struct {
	cfg config.OIDCProvider

	mu       sync.Mutex
	op       *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	oauth    oauth2.Config
	endSess  string
}

// New returns a Service.
func New(cfg Config, st *store.Store, hot kv.Store, a *auth.Service, u *users.Service) *Service {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, providers: map[string]*provider{}, hot: hot, st: st, auth: a, users: u}
	for _, p := range cfg.Providers {
		s.providers[p.Name] = &provider{cfg: p}
		s.order = append(s.order, p.Name)
	}
	return s
}

// Providers lists the configured providers for the login page, in
// configuration order.
func (s *Service) Providers() []api.AuthProvider {
	out := make([]api.AuthProvider, 0, len(s.order))
	for _, name := range s.order {
		p := s.providers[name].cfg
		out = append(out, api.AuthProvider{
			Name: p.Name, DisplayName: p.DisplayName,
			AuthorizeUrl: "/api/v1/auth/oidc/" + p.Name + "/authorize",
		})
	}
	return out
}

// clientCtx carries our HTTP client into go-oidc and oauth2; it outlives
// the request because go-oidc keeps it for later key fetches.
func (s *Service) clientCtx(ctx context.Context) context.Context {
	return gooidc.ClientContext(context.WithoutCancel(ctx), s.cfg.HTTPClient)
}

// ready discovers the provider on first use (and again after a failure).
func (s *Service) ready(ctx context.Context, name string) (*provider, error) {
	p, ok := s.providers[name]
	if !ok {
		return nil, fail(CodeUnknownProvider, "no provider %q", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p, nil
	}
	// go-oidc keeps this context for its later key fetches: it must not
	// be the request's (the client's timeout bounds each fetch).
	op, err := gooidc.NewProvider(s.clientCtx(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, &Error{Code: CodeProviderDown, Err: fmt.Errorf("discover %s: %w", p.cfg.Issuer, err)}
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = op.Claims(&extra)
	ep := op.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	p.op = op
	p.endSess = extra.EndSession
	p.verifier = op.Verifier(&gooidc.Config{
		ClientID: p.cfg.ClientID,
		// Expiry is checked against a clock held back by leeway.
		Now: func() time.Time { return s.cfg.Now().Add(-leeway) },
	})
	p.oauth = oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint:    ep,
		RedirectURL: s.cfg.PublicURL + "/api/v1/auth/oidc/" + p.cfg.Name + "/callback",
		Scopes:      append([]string{gooidc.ScopeOpenID, "email", "profile"}, p.cfg.Scopes...),
	}
	return p, nil
}

// flowState is what the kv store holds for a sign-in in progress.
type flowState struct {
	Provider string `json:"p"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Next     string `json:"x"`
	Binding  string `json:"b"` // base64url SHA-256 of the browser's binding
}

func stateKey(state string) string { return "oidc:state:" + state }

func hashBinding(b string) string {
	h := sha256.Sum256([]byte(b))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Authorize starts a sign-in at provider name and returns the provider's
// URL to send the browser to and the binding the browser must keep (in a
// cookie) and bring back. next is where to land afterwards; anything not
// a path of ours becomes "/".
func (s *Service) Authorize(ctx context.Context, name, next string) (redirect, binding string, err error) {
	p, err := s.ready(ctx, name)
	if err != nil {
		return "", "", err
	}
	state := secrets.Token("")
	binding = secrets.Token("")
	fs := flowState{
		Provider: name, Verifier: oauth2.GenerateVerifier(), Nonce: secrets.Token(""),
		Next: SafeNext(next), Binding: hashBinding(binding),
	}
	raw, _ := json.Marshal(fs)
	if err := s.hot.SetValue(ctx, stateKey(state), string(raw), StateTTL); err != nil {
		return "", "", &Error{Code: CodeServerError, Err: fmt.Errorf("store state: %w", err)}
	}
	u := p.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(fs.Verifier), gooidc.Nonce(fs.Nonce))
	return u, binding, nil
}

// Result is a finished sign-in.
type Result struct {
	Pair      api.TokenPair
	SessionID uuid.UUID
	UserID    uuid.UUID
	// Next is the path to land on.
	Next string
}

// CallbackParams is what came back to the callback.
type CallbackParams struct {
	State, Code string
	// Error is the provider's error parameter (the user said no, …).
	Error string
	// Binding is the value of the browser's binding cookie.
	Binding string
}

// Callback finishes a sign-in at provider name. The state is spent
// whatever happens, so a callback URL works once. Errors are *Error.
func (s *Service) Callback(ctx context.Context, name string, cp CallbackParams) (Result, error) {
	if _, ok := s.providers[name]; !ok {
		return Result{}, fail(CodeUnknownProvider, "no provider %q", name)
	}
	if cp.State == "" || len(cp.State) > 128 {
		return Result{}, fail(CodeInvalidState, "missing or oversized state")
	}
	raw, ok, err := s.hot.GetDel(ctx, stateKey(cp.State))
	if err != nil {
		return Result{}, &Error{Code: CodeServerError, Err: fmt.Errorf("take state: %w", err)}
	}
	if !ok {
		return Result{}, fail(CodeInvalidState, "unknown, expired or spent state")
	}
	var fs flowState
	if err := json.Unmarshal([]byte(raw), &fs); err != nil {
		return Result{}, &Error{Code: CodeServerError, Err: fmt.Errorf("decode state: %w", err)}
	}
	if fs.Provider != name {
		return Result{}, fail(CodeInvalidState, "state of provider %q came back to %q", fs.Provider, name)
	}
	if cp.Binding == "" || subtle.ConstantTimeCompare([]byte(hashBinding(cp.Binding)), []byte(fs.Binding)) != 1 {
		return Result{}, fail(CodeInvalidState, "state came back to another browser")
	}
	if cp.Error != "" {
		return Result{}, fail(CodeProviderError, "provider said %.64q", cp.Error)
	}
	if cp.Code == "" {
		return Result{}, fail(CodeProviderError, "no code")
	}
	p, err := s.ready(ctx, name)
	if err != nil {
		return Result{}, err
	}
	tok, err := p.oauth.Exchange(s.clientCtx(ctx), cp.Code, oauth2.VerifierOption(fs.Verifier))
	if err != nil {
		return Result{}, &Error{Code: CodeProviderError, Err: fmt.Errorf("exchange code: %w", redactErr(err))}
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return Result{}, fail(CodeInvalidIDToken, "token response has no id_token")
	}
	idt, err := s.verify(ctx, p, rawID, fs.Nonce)
	if err != nil {
		return Result{}, err
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Result{}, &Error{Code: CodeInvalidIDToken, Err: fmt.Errorf("decode claims: %w", err)}
	}
	userID, err := s.resolve(ctx, p.cfg, idt.Subject, claims)
	if err != nil {
		return Result{}, err
	}
	pair, sid, err := s.auth.ExternalLogin(ctx, userID, "oidc", name)
	if err != nil {
		code := CodeServerError
		if apperr.HasCode(err, auth.CodeAccountSuspended) {
			code = CodeSuspended
		}
		return Result{}, &Error{Code: code, Err: err}
	}
	s.rememberSession(ctx, sid, name, rawID)
	return Result{Pair: pair, SessionID: sid, UserID: userID, Next: fs.Next}, nil
}

// verify checks the ID token's signature (with the provider's keys and
// their algorithms), issuer, audience and expiry, then the nonce.
func (s *Service) verify(ctx context.Context, p *provider, raw, nonce string) (*gooidc.IDToken, error) {
	idt, err := p.verifier.Verify(s.clientCtx(ctx), raw)
	if err != nil {
		return nil, &Error{Code: CodeInvalidIDToken, Err: fmt.Errorf("verify id token: %w", err)}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fail(CodeNonceMismatch, "id token nonce does not match the sign-in's")
	}
	return idt, nil
}

// redactErr keeps an oauth2 error's status and error code, not its body.
func redactErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("token endpoint answered %d %s", status, code)
	}
	return err
}

// SafeNext returns next when it is a path on this site, else "/". A
// protocol-relative URL (//evil), a backslash trick (/\evil), a scheme or
// a control character all give "/".
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	if strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// sessionKey holds, for an OIDC session, the provider and the ID token to
// hint at logout. It lives as long as a refresh token can.
func sessionKey(sid uuid.UUID) string { return "oidc:session:" + sid.String() }

func (s *Service) rememberSession(ctx context.Context, sid uuid.UUID, provider, idToken string) {
	if s.providers[provider].endSess == "" {
		return
	}
	if err := s.hot.SetValue(ctx, sessionKey(sid), provider+" "+idToken, auth.DefaultRefreshTTL); err != nil {
		slog.WarnContext(ctx, "remember oidc session failed; logout will not reach the provider", "err", err)
	}
}

// EndSessionURL returns where to send the browser after our logout of
// session sid so the provider ends its session too, and "" when the
// session did not come from a provider with an end-session endpoint.
// postLogout is where the provider should send the browser back.
func (s *Service) EndSessionURL(ctx context.Context, sid uuid.UUID, postLogout string) string {
	if sid == uuid.Nil || len(s.providers) == 0 {
		return ""
	}
	raw, ok, err := s.hot.GetDel(ctx, sessionKey(sid))
	if err != nil || !ok {
		return ""
	}
	name, idToken, _ := strings.Cut(raw, " ")
	p, ok := s.providers[name]
	if !ok {
		return ""
	}
	p.mu.Lock()
	end := p.endSess
	p.mu.Unlock()
	if end == "" {
		return ""
	}
	u, err := url.Parse(end)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("client_id", p.cfg.ClientID)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String()
}
