package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPaymentSettings(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := file("key", "sk_test_abc\n")
	hooks := file("hooks", "# old, then new\nwhsec_old\n\nwhsec_new\n")

	c, err := parse(t, nil, map[string]string{
		"GPUAAS_STRIPE_SECRET_KEY_FILE": key, "GPUAAS_STRIPE_WEBHOOK_SECRET_FILE": hooks,
		"GPUAAS_STRIPE_API_URL": "http://127.0.0.1:12111", "GPUAAS_TOPUP_MIN_MINOR": "100",
		"GPUAAS_TOPUP_MAX_MINOR": "5000", "GPUAAS_RECONCILE_INTERVAL": "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Payments
	if !p.Enabled() || p.StripeSecretKey != "sk_test_abc" || strings.Join(p.StripeWebhookSecrets, ",") != "whsec_old,whsec_new" ||
		p.StripeAPIURL != "http://127.0.0.1:12111" || p.TopupMinMinor != 100 || p.TopupMaxMinor != 5000 || p.ReconcileInterval != 0 {
		t.Fatalf("payments = %+v", p)
	}
	if c, err := parse(t, nil, nil); err != nil || c.Payments.Enabled() || c.Payments.ReconcileInterval != 10*time.Minute {
		t.Fatalf("defaults: %v %+v", err, c.Payments)
	}

	for want, args := range map[string][]string{
		"stripe-secret-key-file":      {"--stripe-secret-key-file", file("bad", "pk_live_x\n"), "--stripe-webhook-secret-file", hooks},
		"stripe-webhook-secret-file":  {"--stripe-secret-key-file", key},
		"stripe-webhook-secret-file ": {"--stripe-secret-key-file", key, "--stripe-webhook-secret-file", file("empty", "\n# none\n")},
		"stripe-secret-key-file ":     {"--stripe-webhook-secret-file", hooks},
		"stripe-api-url":              {"--stripe-api-url", "ftp://x"},
		"topup-min-minor":             {"--topup-min-minor", "0"},
		"topup-max-minor":             {"--topup-min-minor", "500", "--topup-max-minor", "400"},
		"reconcile-interval":          {"--reconcile-interval", "10ms"},
	} {
		if _, err := parse(t, args, nil); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("%v: error %v does not name %s", args, err, want)
		}
	}
}
