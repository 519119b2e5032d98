package config

import (
	"bytes"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// OIDC is sign-in through OpenID Connect providers: one set by the
// --oidc-* flags, more in --oidc-providers-file. Validate fills Providers
// from both and reads the client secrets.
type OIDC struct {
	// The single provider of the flags; ignored when Issuer is empty.
	Name             string
	Issuer           string
	ClientID         string
	ClientSecretFile string
	// Scopes are asked for besides openid, email and profile.
	Scopes StringList
	// ProvidersFile is a YAML file of providers (see docs/identity.md).
	ProvidersFile string
	// JIT creates a user at the first sign-in of an unknown identity.
	JIT bool
	// LinkByEmail ties an unknown identity to the existing user with the
	// same email when the provider says the email is verified.
	LinkByEmail bool
	// AdminClaim, claim=value, makes a user an admin while their ID token
	// carries that value (a string, or one of a list) and a plain user
	// when it does not; checked at every sign-in. Empty leaves roles alone.
	AdminClaim string
	// PersonalLogin is who may sign in with a password: "all" or "admins"
	// (the break-glass administrators only).
	PersonalLogin string

	// Providers is every provider, filled by Validate.
	Providers []OIDCProvider
}

// OIDCProvider is one provider as the providers file writes it.
type OIDCProvider struct {
	// Name is the path segment and the key of linked identities: lower
	// case letters, digits, '-' and '_'.
	Name string `yaml:"name"`
	// DisplayName labels the console's button; Name when empty.
	DisplayName      string   `yaml:"display_name"`
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"client_id"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
	// AdminClaim overrides --oidc-admin-claim for this provider.
	AdminClaim string `yaml:"admin_claim"`

	// ClientSecret is read from ClientSecretFile, trimmed.
	ClientSecret string `yaml:"-"`
}

// OIDCProvidersFile is the YAML of --oidc-providers-file.
type OIDCProvidersFile struct {
	Providers []OIDCProvider `yaml:"providers"`
}

var providerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Personal-login settings.
const (
	PersonalLoginAll    = "all"
	PersonalLoginAdmins = "admins"
)

func (o *OIDC) register(fs *flag.FlagSet) {
	fs.StringVar(&o.Name, "oidc-name", o.Name, "name of the OIDC provider set by --oidc-issuer (its button and callback path)")
	fs.StringVar(&o.Issuer, "oidc-issuer", o.Issuer, "issuer URL of an OIDC provider to sign in with (discovery at ISSUER/.well-known/openid-configuration); empty: none from flags")
	fs.StringVar(&o.ClientID, "oidc-client-id", o.ClientID, "client id registered at --oidc-issuer")
	fs.StringVar(&o.ClientSecretFile, "oidc-client-secret-file", o.ClientSecretFile, "file holding the client secret for --oidc-issuer (read trimmed)")
	fs.Var(&o.Scopes, "oidc-scopes", "scopes asked for besides openid, email and profile (repeatable or comma-separated)")
	fs.StringVar(&o.ProvidersFile, "oidc-providers-file", o.ProvidersFile, "YAML file listing OIDC providers (name, issuer, client_id, client_secret_file, scopes); see docs/identity.md")
	fs.BoolVar(&o.JIT, "oidc-jit", o.JIT, "create a user at the first OIDC sign-in of an unknown identity")
	fs.BoolVar(&o.LinkByEmail, "oidc-link-by-email", o.LinkByEmail, "link an unknown OIDC identity to the existing user with the same email when the provider says it is verified")
	fs.StringVar(&o.AdminClaim, "oidc-admin-claim", o.AdminClaim, "claim=value (e.g. groups=gpuaas-admins) that makes an OIDC user an admin, checked at every sign-in; empty leaves roles alone")
	fs.StringVar(&o.PersonalLogin, "personal-login", o.PersonalLogin, "who may sign in with a password: all, or admins (break-glass administrators only)")
}

// validate checks the settings and loads Providers.
func (o *OIDC) validate(add func(error)) {
	switch o.PersonalLogin {
	case PersonalLoginAll, PersonalLoginAdmins:
	default:
		add(Invalid("personal-login", "want all or admins, got %q", o.PersonalLogin))
	}
	if o.AdminClaim != "" {
		if _, _, err := ParseClaimMatch(o.AdminClaim); err != nil {
			add(Invalid("oidc-admin-claim", "%v", err))
		}
	}
	o.Providers = nil
	if o.Issuer != "" {
		p := OIDCProvider{
			Name: o.Name, Issuer: o.Issuer, ClientID: o.ClientID,
			ClientSecretFile: o.ClientSecretFile,
		}
		if err := p.check(); err != nil {
			add(Invalid("oidc-issuer", "%v", err))
		} else {
			o.Providers = append(o.Providers, p)
		}
	}
	if o.ProvidersFile != "" {
		raw, err := os.ReadFile(o.ProvidersFile)
		if err != nil {
			add(Invalid("oidc-providers-file", "%v", err))
			return
		}
		var f OIDCProvidersFile
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			add(Invalid("oidc-providers-file", "%s: %v", o.ProvidersFile, err))
			return
		}
		for _, p := range f.Providers {
			if err := p.check(); err != nil {
				add(Invalid("oidc-providers-file", "%s: %v", o.ProvidersFile, err))
				continue
			}
			o.Providers = append(o.Providers, p)
		}
	}
	seen := map[string]bool{}
	for i := range o.Providers {
		p := &o.Providers[i]
		if seen[p.Name] {
			add(Invalid("oidc-providers-file", "provider %q is named twice", p.Name))
		}
		seen[p.Name] = true
		p.Scopes = append(append([]string(nil), o.Scopes...), p.Scopes...)
		if p.AdminClaim == "" {
			p.AdminClaim = o.AdminClaim
		} else if _, _, err := ParseClaimMatch(p.AdminClaim); err != nil {
			add(Invalid("oidc-providers-file", "provider %q: admin_claim: %v", p.Name, err))
		}
		if p.DisplayName == "" {
			p.DisplayName = p.Name
		}
	}
}

// check validates p and reads its secret.
func (p *OIDCProvider) check() error {
	if !providerNameRE.MatchString(p.Name) {
		return fmt.Errorf("provider name must be 1 to 63 of a-z, 0-9, '-', '_', got %q", p.Name)
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("provider %q: issuer must be an http(s) URL, got %q", p.Name, p.Issuer)
	}
	if p.ClientID == "" {
		return fmt.Errorf("provider %q: client id is required", p.Name)
	}
	if p.ClientSecretFile == "" {
		return fmt.Errorf("provider %q: client secret file is required", p.Name)
	}
	raw, err := os.ReadFile(p.ClientSecretFile)
	if err != nil {
		return fmt.Errorf("provider %q: read client secret: %w", p.Name, err)
	}
	p.ClientSecret = strings.TrimSpace(string(raw))
	if p.ClientSecret == "" {
		return fmt.Errorf("provider %q: client secret file %s is empty", p.Name, p.ClientSecretFile)
	}
	return nil
}

// ParseClaimMatch splits claim=value.
func ParseClaimMatch(s string) (claim, value string, err error) {
	claim, value, ok := strings.Cut(s, "=")
	claim, value = strings.TrimSpace(claim), strings.TrimSpace(value)
	if !ok || claim == "" || value == "" {
		return "", "", fmt.Errorf("want claim=value, got %q", s)
	}
	return claim, value, nil
}
