package config

import (
	"flag"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultStripeAPIURL is Stripe's API.
const DefaultStripeAPIURL = "https://api.stripe.com"

// Payments is top-ups through Stripe Checkout (package payments). Without
// a secret key the payment routes answer 503 payments_disabled.
type Payments struct {
	StripeSecretKeyFile     string
	StripeWebhookSecretFile string
	StripeAPIURL            string
	TopupMinMinor           int64
	TopupMaxMinor           int64
	// ReconcileInterval is how often the reconciliation job compares
	// recent Checkout Sessions with our payments; 0 turns it off.
	ReconcileInterval time.Duration

	// StripeSecretKey and StripeWebhookSecrets are read from the files by
	// Validate (one secret a line: a rotation lists the old and the new).
	StripeSecretKey      string
	StripeWebhookSecrets []string
}

// Enabled reports whether a Stripe key is configured.
func (p Payments) Enabled() bool { return p.StripeSecretKey != "" }

func defaultPayments() Payments {
	return Payments{
		StripeAPIURL:      DefaultStripeAPIURL,
		TopupMinMinor:     500,
		TopupMaxMinor:     1_000_000,
		ReconcileInterval: 10 * time.Minute,
	}
}

func (p *Payments) register(fs *flag.FlagSet) {
	fs.StringVar(&p.StripeSecretKeyFile, "stripe-secret-key-file", p.StripeSecretKeyFile, "file holding the Stripe secret key (sk_live_… or sk_test_…); empty turns payments off (503 payments_disabled)")
	fs.StringVar(&p.StripeWebhookSecretFile, "stripe-webhook-secret-file", p.StripeWebhookSecretFile, "file holding the webhook endpoint's signing secrets (whsec_…), one a line: list two while rotating; required with --stripe-secret-key-file")
	fs.StringVar(&p.StripeAPIURL, "stripe-api-url", p.StripeAPIURL, "Stripe API base URL (tests point it at stripe-mock or a stand-in)")
	fs.Int64Var(&p.TopupMinMinor, "topup-min-minor", p.TopupMinMinor, "smallest top-up, in minor units of the deployment's currency")
	fs.Int64Var(&p.TopupMaxMinor, "topup-max-minor", p.TopupMaxMinor, "largest top-up, in minor units of the deployment's currency")
	fs.DurationVar(&p.ReconcileInterval, "reconcile-interval", p.ReconcileInterval, "how often recent Checkout Sessions are compared with our payments (repairing missed webhooks); 0 turns the job off")
}

// validate checks the settings and reads the secrets.
func (p *Payments) validate(add func(error)) {
	p.StripeSecretKey, p.StripeWebhookSecrets = "", nil
	if u, err := url.Parse(p.StripeAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(Invalid("stripe-api-url", "want an http(s) URL, got %q", p.StripeAPIURL))
	}
	if p.TopupMinMinor < 1 {
		add(Invalid("topup-min-minor", "must be at least 1, got %d", p.TopupMinMinor))
	}
	if p.TopupMaxMinor < p.TopupMinMinor || p.TopupMaxMinor > 99_999_999 {
		add(Invalid("topup-max-minor", "must be between --topup-min-minor (%d) and 99999999 (Stripe's largest amount), got %d", p.TopupMinMinor, p.TopupMaxMinor))
	}
	if p.ReconcileInterval < 0 || (p.ReconcileInterval > 0 && p.ReconcileInterval < time.Second) {
		add(Invalid("reconcile-interval", "must be 0 (off) or at least 1s, got %s", p.ReconcileInterval))
	}
	if p.StripeSecretKeyFile == "" {
		if p.StripeWebhookSecretFile != "" {
			add(Invalid("stripe-secret-key-file", "required with --stripe-webhook-secret-file"))
		}
		return
	}
	raw, err := os.ReadFile(p.StripeSecretKeyFile)
	if err != nil {
		add(Invalid("stripe-secret-key-file", "%v", err))
		return
	}
	key := strings.TrimSpace(string(raw))
	if !(strings.HasPrefix(key, "sk_") || strings.HasPrefix(key, "rk_")) || strings.ContainsAny(key, " \t\r\n") {
		add(Invalid("stripe-secret-key-file", "%s: want one Stripe secret key (sk_… or rk_…)", p.StripeSecretKeyFile))
		return
	}
	if p.StripeWebhookSecretFile == "" {
		add(Invalid("stripe-webhook-secret-file", "required with --stripe-secret-key-file: webhooks cannot be verified without it"))
		return
	}
	raw, err = os.ReadFile(p.StripeWebhookSecretFile)
	if err != nil {
		add(Invalid("stripe-webhook-secret-file", "%v", err))
		return
	}
	var secrets []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			add(Invalid("stripe-webhook-secret-file", "%s: a line holds one secret, without spaces", p.StripeWebhookSecretFile))
			return
		}
		secrets = append(secrets, line)
	}
	if len(secrets) == 0 {
		add(Invalid("stripe-webhook-secret-file", "%s: no secret in it", p.StripeWebhookSecretFile))
		return
	}
	p.StripeSecretKey, p.StripeWebhookSecrets = key, secrets
}
