package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/oidc"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestMain(m *testing.M) {
	if bin := os.Getenv("GPUAAS_TEST_HYDRA"); bin != "" {
		h, err := startHydra(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start hydra:", err)
			os.Exit(1)
		}
		peer = h
	} else if isCI() {
		fmt.Fprintln(os.Stderr, "GPUAAS_TEST_HYDRA is not set and CI=true: run scripts/ensure-services.sh hydra")
		os.Exit(1)
	}
	code := m.Run()
	if peer != nil {
		peer.stop()
	}
	os.Exit(code)
}

// publicURL is what the server says it is reached at; the browser below
// sends the provider's redirects to the test server instead.
const publicURL = "http://gpuaas.test"

type rig struct {
	env      *servertest.Env
	clientID string
	secret   string
}

// setup registers a client at Hydra and starts a control plane that signs
// in through it as provider "hydra".
func setup(t *testing.T, mutate func(*config.OIDC)) *rig {
	t.Helper()
	if peer == nil {
		t.Skip("no Hydra: run scripts/ensure-services.sh hydra and export GPUAAS_TEST_HYDRA")
	}
	id, secretFile := peer.client(t, publicURL+"/api/v1/auth/oidc/hydra/callback", publicURL+"/login")
	env := servertest.Start(t, func(c *config.Server) {
		c.PublicURL = publicURL
		c.OIDC.Name = "hydra"
		c.OIDC.Issuer = peer.public
		c.OIDC.ClientID = id
		c.OIDC.ClientSecretFile = secretFile
		if mutate != nil {
			mutate(&c.OIDC)
		}
	})
	return &rig{env: env, clientID: id, secret: secretFile}
}

// browser is one browser at the console: its own cookies, no redirects
// followed.
type browser struct {
	t   *testing.T
	r   *rig
	web *http.Client
}

func (r *rig) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, r: r, web: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// authorize starts a sign-in and returns the provider's URL.
func (b *browser) authorize(next string) string {
	b.t.Helper()
	loc := b.get(b.r.env.URL + "/api/v1/auth/oidc/hydra/authorize?next=" + url.QueryEscape(next))
	if !strings.HasPrefix(loc.String(), peer.public+"/oauth2/auth?") {
		b.t.Fatalf("authorize went to %s", loc)
	}
	return loc.String()
}

// callback brings the provider's redirect back to the test server and
// returns where the server sends the browser.
func (b *browser) callback(cb *url.URL) *url.URL {
	b.t.Helper()
	if !strings.HasPrefix(cb.String(), publicURL+"/api/v1/auth/oidc/hydra/callback?") {
		b.t.Fatalf("provider redirected to %s", cb)
	}
	return b.get(b.r.env.URL + cb.RequestURI())
}

func (b *browser) get(u string) *url.URL {
	b.t.Helper()
	resp, err := b.web.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("GET %s: %d, want 302", u, resp.StatusCode)
	}
	// As sent: a landing path stays a path.
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// signIn runs the whole flow for id and returns the landing URL.
func (b *browser) signIn(id identity, next string) *url.URL {
	b.t.Helper()
	return b.callback(peer.approve(b.t, b.authorize(next), id))
}

// session refreshes from the refresh cookie, as the console does at boot,
// and returns the pair; ok is false when the browser holds no session.
func (b *browser) session() (api.TokenPair, bool) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.r.env.URL+"/api/v1/auth/token/refresh", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.web.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.TokenPair{}, false
	}
	var pair api.TokenPair
	if err := json.NewDecoder(resp.Body).Decode(&pair); err != nil {
		b.t.Fatal(err)
	}
	return pair, true
}

func (b *browser) me() api.User {
	b.t.Helper()
	pair, ok := b.session()
	if !ok {
		b.t.Fatal("no session after sign-in")
	}
	u, err := b.r.env.Client(pair.AccessToken).Me(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

func person(name string, extra map[string]any) identity {
	sfx := uuid.NewString()[:8]
	claims := map[string]any{
		"email": name + "-" + sfx + "@example.org", "email_verified": true,
		"preferred_username": name + "-" + sfx,
	}
	for k, v := range extra {
		claims[k] = v
	}
	return identity{Subject: name + "|" + sfx, Claims: claims}
}

func wantError(t *testing.T, loc *url.URL, code string) {
	t.Helper()
	if loc.Path != "/login" || loc.Query().Get("error") != code {
		t.Fatalf("landed on %s, want /login?error=%s", loc, code)
	}
}

func TestProvidersList(t *testing.T) {
	r := setup(t, nil)
	resp, err := http.Get(r.env.URL + "/api/v1/auth/providers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got api.AuthProviders
	_ = json.NewDecoder(resp.Body).Decode(&got)
	if len(got.Providers) != 1 || got.Providers[0].Name != "hydra" ||
		got.Providers[0].AuthorizeUrl != "/api/v1/auth/oidc/hydra/authorize" || got.PersonalLogin != api.AuthProvidersPersonalLoginAll {
		t.Fatalf("providers: %+v", got)
	}
}

func TestSignInCreatesUserJustInTimeAndLandsOnNext(t *testing.T) {
	r := setup(t, nil)
	id := person("alice", nil)
	b := r.browser(t)
	loc := b.signIn(id, "/allocations?view=mine")
	if loc.String() != "/allocations?view=mine" {
		t.Fatalf("landed on %s", loc)
	}
	u := b.me()
	if u.Username != id.Claims["preferred_username"] || string(u.Email) != id.Claims["email"] || u.Role != api.RoleUser {
		t.Fatalf("user: %+v", u)
	}
	// The second sign-in finds the linked identity: the same user.
	b2 := r.browser(t)
	b2.signIn(id, "/")
	if again := b2.me(); again.Id != u.Id {
		t.Fatalf("second sign-in is %s, want %s", again.Id, u.Id)
	}
	// Audited as an OIDC sign-in.
	var n int
	err := r.env.App.Store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_logs WHERE action = 'auth.login' AND actor_user_id = $1 AND metadata->>'method' = 'oidc' AND metadata->>'provider' = 'hydra'`, u.Id).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d oidc auth.login rows, want 2", n)
	}
}

func TestOpenRedirectGoesHome(t *testing.T) {
	r := setup(t, nil)
	b := r.browser(t)
	if loc := b.signIn(person("mallory", nil), "//evil.example/steal"); loc.String() != "/" {
		t.Fatalf("landed on %s, want /", loc)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "evil", "/ok\r\nx", ""} {
		if got := oidc.SafeNext(next); got != "/" {
			t.Errorf("SafeNext(%q) = %q", next, got)
		}
	}
	for _, next := range []string{"/", "/allocations/abc?x=1#y", "/a//b"} {
		if got := oidc.SafeNext(next); got != next {
			t.Errorf("SafeNext(%q) = %q", next, got)
		}
	}
}

func TestReplayedTamperedAndForeignStateStartNoSession(t *testing.T) {
	r := setup(t, nil)
	id := person("bob", nil)

	// Replay: the same callback URL a second time, even from the same
	// browser, is refused.
	b := r.browser(t)
	cb := peer.approve(t, b.authorize("/"), id)
	if loc := b.callback(cb); loc.String() != "/" {
		t.Fatalf("first callback landed on %s", loc)
	}
	wantError(t, b.callback(cb), oidc.CodeInvalidState)

	// Tampered: a state we never issued.
	b = r.browser(t)
	cb = peer.approve(t, b.authorize("/"), id)
	q := cb.Query()
	q.Set("state", q.Get("state")+"x")
	cb.RawQuery = q.Encode()
	wantError(t, b.callback(cb), oidc.CodeInvalidState)
	if _, ok := b.session(); ok {
		t.Fatal("a tampered state started a session")
	}

	// Foreign: a genuine state and code brought to another browser (login
	// CSRF) is refused, and spends the state.
	b = r.browser(t)
	cb = peer.approve(t, b.authorize("/"), id)
	other := r.browser(t)
	wantError(t, other.callback(cb), oidc.CodeInvalidState)
	if _, ok := other.session(); ok {
		t.Fatal("a foreign state started a session")
	}
	wantError(t, b.callback(cb), oidc.CodeInvalidState)

	// Each refusal is audited as a failed sign-in, as a wrong password is.
	admin, _ := r.env.As("admin")
	action := audit.ActionLoginFailed
	l, err := admin.AdminListAuditLogs(context.Background(), api.AdminListAuditLogsParams{Action: &action})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range l.Items {
		if e.Metadata["method"] == "oidc" && e.Metadata["provider"] == "hydra" && e.Metadata["reason"] == oidc.CodeInvalidState {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d failed OIDC sign-ins audited, want 4", n)
	}
}

func TestWrongNonceIsRefused(t *testing.T) {
	r := setup(t, nil)
	b := r.browser(t)
	authURL, _ := url.Parse(b.authorize("/"))
	q := authURL.Query()
	q.Set("nonce", "forged-nonce-0123456789")
	authURL.RawQuery = q.Encode()
	wantError(t, b.callback(peer.approve(t, authURL.String(), person("carol", nil))), oidc.CodeNonceMismatch)
	if _, ok := b.session(); ok {
		t.Fatal("a wrong nonce started a session")
	}
}

func TestLinkingByEmail(t *testing.T) {
	// Off (the default): an account with the email is not taken over.
	r := setup(t, nil)
	u := r.env.NewUser("user")
	id := person("dave", map[string]any{"email": string(u.Email), "email_verified": true})
	wantError(t, r.browser(t).signIn(id, "/"), oidc.CodeAccountExists)

	// On: only a verified email links.
	r = setup(t, func(o *config.OIDC) { o.LinkByEmail = true })
	u = r.env.NewUser("user")
	id = person("erin", map[string]any{"email": strings.ToUpper(string(u.Email)), "email_verified": false})
	wantError(t, r.browser(t).signIn(id, "/"), oidc.CodeAccountExists)
	id.Claims["email_verified"] = true
	b := r.browser(t)
	b.signIn(id, "/")
	if got := b.me(); got.Id != u.Id {
		t.Fatalf("linked sign-in is %s, want %s", got.Id, u.Id)
	}
}

func TestNoJITRefusesUnknownIdentity(t *testing.T) {
	r := setup(t, func(o *config.OIDC) { o.JIT = false })
	b := r.browser(t)
	wantError(t, b.signIn(person("frank", nil), "/"), oidc.CodeSignupDisabled)
	if _, ok := b.session(); ok {
		t.Fatal("refused sign-in started a session")
	}
}

func TestAdminClaimCheckedAtEverySignIn(t *testing.T) {
	r := setup(t, func(o *config.OIDC) { o.AdminClaim = "groups=gpuaas-admins" })
	id := person("grace", map[string]any{"groups": []string{"staff", "gpuaas-admins"}})
	b := r.browser(t)
	b.signIn(id, "/")
	if u := b.me(); u.Role != api.RoleAdmin {
		t.Fatalf("role %s, want admin", u.Role)
	}
	id.Claims["groups"] = []string{"staff"}
	b = r.browser(t)
	b.signIn(id, "/")
	if u := b.me(); u.Role != api.RoleUser {
		t.Fatalf("role %s, want user after leaving the group", u.Role)
	}
}

func TestProviderRotatesItsKeyBetweenSignIns(t *testing.T) {
	r := setup(t, nil)
	id := person("heidi", nil)
	b := r.browser(t)
	b.signIn(id, "/")
	first := b.me()

	old, kid := peer.rotate(t)
	kids := strings.Join(peer.kids(t), " ")
	if !strings.Contains(kids, kid) || strings.Contains(kids, old[0]) {
		t.Fatalf("after rotation the provider publishes %v, want %s and not %v", kids, kid, old)
	}
	b = r.browser(t)
	if loc := b.signIn(id, "/"); loc.String() != "/" {
		t.Fatalf("sign-in after rotation landed on %s", loc)
	}
	if again := b.me(); again.Id != first.Id {
		t.Fatal("another user after rotation")
	}
}

// idTokenFor runs the flow for a client of its own directly (as another
// application at the same provider) and returns its ID token and nonce.
func idTokenFor(t *testing.T, id identity) (clientID, raw, nonce string) {
	t.Helper()
	redirect := "http://other.test/cb"
	clientID, secretFile := peer.client(t, redirect, "http://other.test/")
	secret, _ := os.ReadFile(secretFile)
	oc := oauth2.Config{
		ClientID: clientID, ClientSecret: strings.TrimSpace(string(secret)), RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: peer.public + "/oauth2/auth", TokenURL: peer.public + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   []string{"openid", "email", "profile"},
	}
	verifier := oauth2.GenerateVerifier()
	nonce = "nonce-" + uuid.NewString()
	cb := peer.approve(t, oc.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", nonce)), id)
	tok, err := oc.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token")
	}
	return clientID, raw, nonce
}

func TestIDTokenChecks(t *testing.T) {
	if peer == nil {
		t.Skip("no Hydra: run scripts/ensure-services.sh hydra and export GPUAAS_TEST_HYDRA")
	}
	other, raw, nonce := idTokenFor(t, person("ivan", nil))
	svc := func(clientID string, now func() time.Time) *oidc.Service {
		return oidc.New(oidc.Config{PublicURL: publicURL, Now: now, Providers: []config.OIDCProvider{{
			Name: "hydra", Issuer: peer.public, ClientID: clientID, ClientSecret: "unused",
		}}}, nil, nil, nil, nil)
	}
	ctx := context.Background()
	code := func(err error) string {
		var oe *oidc.Error
		if errors.As(err, &oe) {
			return oe.Code
		}
		return fmt.Sprint(err)
	}
	// The token is good for the client it was minted for.
	if err := svc(other, nil).VerifyIDToken(ctx, "hydra", raw, nonce); err != nil {
		t.Fatalf("genuine token refused: %v", err)
	}
	// Another client (audience) refuses it.
	err := svc("our-client", nil).VerifyIDToken(ctx, "hydra", raw, nonce)
	if code(err) != oidc.CodeInvalidIDToken || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("wrong audience: %v", err)
	}
	// Expired: checked two hours on (Hydra's ID tokens live one hour), and
	// still good 30 s past expiry within the leeway.
	later := func(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }
	err = svc(other, later(2*time.Hour)).VerifyIDToken(ctx, "hydra", raw, nonce)
	if code(err) != oidc.CodeInvalidIDToken || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	if err := svc(other, later(time.Hour+30*time.Second)).VerifyIDToken(ctx, "hydra", raw, nonce); err != nil {
		t.Fatalf("token within leeway refused: %v", err)
	}
	// Wrong nonce.
	if err := svc(other, nil).VerifyIDToken(ctx, "hydra", raw, "another-nonce"); code(err) != oidc.CodeNonceMismatch {
		t.Fatalf("wrong nonce: %v", err)
	}
	// A forged signature.
	parts := strings.Split(raw, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if err := svc(other, nil).VerifyIDToken(ctx, "hydra", forged, nonce); code(err) != oidc.CodeInvalidIDToken {
		t.Fatalf("forged token: %v", err)
	}
}

func TestLogoutEndsTheProviderSessionToo(t *testing.T) {
	r := setup(t, nil)
	b := r.browser(t)
	b.signIn(person("judy", nil), "/")
	pair, _ := b.session()
	req, _ := http.NewRequest("POST", r.env.URL+"/api/v1/auth/logout", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out api.LogoutResult
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || !strings.HasPrefix(out.EndSessionUrl, peer.public+"/oauth2/sessions/logout?") {
		t.Fatalf("logout: %d %+v", resp.StatusCode, out)
	}
	end, _ := url.Parse(out.EndSessionUrl)
	if end.Query().Get("id_token_hint") == "" || end.Query().Get("post_logout_redirect_uri") != publicURL+"/login" {
		t.Fatalf("end-session URL %s", end)
	}
	if _, ok := b.session(); ok {
		t.Fatal("session survived logout")
	}
}

func TestPersonalLoginForAdminsOnly(t *testing.T) {
	if peer == nil {
		t.Skip("no Hydra")
	}
	r := setup(t, func(o *config.OIDC) { o.PersonalLogin = config.PersonalLoginAdmins })
	u := r.env.NewUser("user")
	_, err := r.env.Client("").Login(context.Background(), u.Username, servertest.Password)
	if !apperr.HasCode(err, auth.CodePersonalLoginDisabled) && !strings.Contains(fmt.Sprint(err), auth.CodePersonalLoginDisabled) {
		t.Fatalf("user's password sign-in: %v", err)
	}
	admin := r.env.NewUser("admin")
	r.env.Login(admin) // break glass
}
