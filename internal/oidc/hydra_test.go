package oidc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hydra is an Ory Hydra started for this test package (TestMain): a real
// OIDC provider on loopback with an in-memory store, driven through its
// admin API in place of a login and consent UI.
type hydra struct {
	bin           string
	public, admin string // base URLs
	cmd           *exec.Cmd
	dir           string
}

var peer *hydra

// startHydra starts the binary named by GPUAAS_TEST_HYDRA on free ports.
func startHydra(bin string) (*hydra, error) {
	dir, err := os.MkdirTemp("", "hydra")
	if err != nil {
		return nil, err
	}
	pub, adm := freePort(), freePort()
	h := &hydra{bin: bin, dir: dir,
		public: fmt.Sprintf("http://127.0.0.1:%d", pub), admin: fmt.Sprintf("http://127.0.0.1:%d", adm)}
	cfg := fmt.Sprintf(`dsn: memory
serve:
  public: {host: 127.0.0.1, port: %d}
  admin: {host: 127.0.0.1, port: %d}
urls:
  self: {issuer: %s}
  login: http://127.0.0.1:1/login
  consent: http://127.0.0.1:1/consent
  logout: http://127.0.0.1:1/logout
secrets:
  system: [this-is-a-test-only-secret-32bytes-long]
strategies:
  access_token: opaque
log: {level: warn, format: text}
sqa: {opt_out: true}
`, pub, adm, h.public)
	if err := os.WriteFile(filepath.Join(dir, "hydra.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "hydra.log"))
	if err != nil {
		return nil, err
	}
	h.cmd = exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out", "-c", filepath.Join(dir, "hydra.yml"))
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r, err := http.Get(h.admin + "/health/ready")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return h, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.stop()
	log, _ := os.ReadFile(filepath.Join(dir, "hydra.log"))
	return nil, fmt.Errorf("hydra not ready in 30s:\n%s", log)
}

func (h *hydra) stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	}
	_ = os.RemoveAll(h.dir)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// call sends JSON to Hydra's admin API and decodes the answer into out.
func (h *hydra) call(t testing.TB, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		raw, _ := json.Marshal(in)
		body = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, h.admin+path, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("hydra %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("hydra %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("hydra %s %s: %v: %s", method, path, err, raw)
		}
	}
}

// client registers an OAuth2 client with redirectURI and returns its id
// and the path of a file holding its secret (with a newline, as an
// operator's editor leaves it).
func (h *hydra) client(t testing.TB, redirectURI, postLogout string) (id, secretFile string) {
	t.Helper()
	secret := "s3cret-" + fmt.Sprint(time.Now().UnixNano())
	var out struct {
		ClientID string `json:"client_id"`
	}
	h.call(t, "POST", "/admin/clients", map[string]any{
		"client_secret":              secret,
		"redirect_uris":              []string{redirectURI},
		"post_logout_redirect_uris":  []string{postLogout},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      "openid email profile offline",
		"token_endpoint_auth_method": "client_secret_basic",
	}, &out)
	secretFile = filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return out.ClientID, secretFile
}

// identity is who the user is at the provider, in the ID token.
type identity struct {
	Subject string
	Claims  map[string]any
}

// approve plays the user at the provider for the authorization URL
// authURL: it signs identity in, consents, and returns the redirect to the
// client (the callback URL with code and state). hooks may rewrite authURL
// first (a forged nonce).
func (h *hydra) approve(t testing.TB, authURL string, id identity) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	br := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	loc := h.follow(t, br, authURL)
	challenge := loc.Query().Get("login_challenge")
	if challenge == "" {
		t.Fatalf("no login_challenge in %s", loc)
	}
	var red struct {
		RedirectTo string `json:"redirect_to"`
	}
	h.call(t, "PUT", "/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(challenge),
		map[string]any{"subject": id.Subject}, &red)
	loc = h.follow(t, br, red.RedirectTo)
	consent := loc.Query().Get("consent_challenge")
	if consent == "" {
		t.Fatalf("no consent_challenge in %s", loc)
	}
	h.call(t, "PUT", "/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(consent),
		map[string]any{
			"grant_scope": []string{"openid", "email", "profile"},
			"session":     map[string]any{"id_token": id.Claims},
		}, &red)
	return h.follow(t, br, red.RedirectTo)
}

// follow GETs u and returns where it redirects to.
func (h *hydra) follow(t testing.TB, br *http.Client, u string) *url.URL {
	t.Helper()
	resp, err := br.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, raw)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// rotate adds a new ID-token signing key and deletes the old ones.
func (h *hydra) rotate(t testing.TB) (oldKids []string, newKid string) {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	h.call(t, "GET", "/admin/keys/hydra.openid.id-token", nil, &set)
	for _, k := range set.Keys {
		oldKids = append(oldKids, k.Kid)
	}
	newKid = "rotated-" + fmt.Sprint(time.Now().UnixNano())
	h.call(t, "POST", "/admin/keys/hydra.openid.id-token", map[string]any{"alg": "RS256", "kid": newKid, "use": "sig"}, nil)
	for _, k := range oldKids {
		h.call(t, "DELETE", "/admin/keys/hydra.openid.id-token/"+url.PathEscape(k), nil, nil)
	}
	return oldKids, newKid
}

// kids lists the provider's public signing keys.
func (h *hydra) kids(t testing.TB) []string {
	t.Helper()
	resp, err := http.Get(h.public + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func isCI() bool { return strings.EqualFold(os.Getenv("CI"), "true") }
