package config_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/config"
)

func parse(t *testing.T, args []string, env map[string]string) (config.Server, error) {
	t.Helper()
	c := config.DefaultServer()
	c.SecretKeyFile = "/dev/null"
	c.NATSURL = "nats://127.0.0.1:4222"
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	c.Register(fs)
	if err := config.Parse(fs, args, func(k string) string { return env[k] }); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestEnvTwinsAndFlagPrecedence(t *testing.T) {
	c, err := parse(t, []string{"--listen", "127.0.0.1:9000"}, map[string]string{
		"GPUAAS_LISTEN":    "127.0.0.1:9999",
		"GPUAAS_API_BURST": "7",
		"GPUAAS_REDIS_URL": "redis://127.0.0.1:6379/0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" {
		t.Errorf("flag should beat env: listen=%s", c.Listen)
	}
	if c.APIBurst != 7 || c.RedisURL == "" {
		t.Errorf("env twins not applied: burst=%d redis=%q", c.APIBurst, c.RedisURL)
	}
	if c.PublicURL != "http://127.0.0.1:9000" || c.Issuer != c.PublicURL {
		t.Errorf("derived public url %q issuer %q", c.PublicURL, c.Issuer)
	}
}

func TestEveryFlagHasAnEnvTwin(t *testing.T) {
	c := config.DefaultServer()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	c.Register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if got := config.EnvName(f.Name); got != "GPUAAS_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")) {
			t.Errorf("%s -> %s", f.Name, got)
		}
	})
}

func TestBadSettingsNameTheSetting(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
	}{
		"listen":                         {args: []string{"--listen", "nonsense"}},
		"database-url":                   {args: []string{"--database-url", "mysql://x"}},
		"database-max-conns":             {args: []string{"--database-max-conns", "1"}},
		"redis-url":                      {args: []string{"--redis-url", "http://x"}},
		"nats-url":                       {args: []string{"--nats-url", "http://x"}},
		"roles":                          {args: []string{"--roles", "api,bogus"}},
		"max-body-bytes":                 {args: []string{"--max-body-bytes", "10"}},
		"api-rate":                       {args: []string{"--api-rate", "0"}},
		"access-token-ttl":               {args: []string{"--access-token-ttl", "1s"}},
		"log-level":                      {args: []string{"--log-level", "loud"}},
		"GPUAAS_API_BURST":               {env: map[string]string{"GPUAAS_API_BURST": "many"}},
		"redis-url (split)":              {args: []string{"--roles", "api"}},
		"nats-namespace":                 {args: []string{"--nats-namespace", "Bad.NS"}},
		"sim-failure-rate":               {args: []string{"--sim-failure-rate", "2"}},
		"runtime":                        {args: []string{"--runtime", "docker"}},
		"trusted-proxies":                {args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.example"}},
		"login-username-failures":        {args: []string{"--login-user-failures", "50", "--login-username-failures", "20"}},
		"websocket-max-per-user":         {args: []string{"--websocket-max-per-user", "0"}},
		"websocket-max-total":            {args: []string{"--websocket-max-total", "-1"}},
		"provisioner-concurrency":        {args: []string{"--provisioner-concurrency", "0"}},
		"GPUAAS_PROVISIONER_CONCURRENCY": {env: map[string]string{"GPUAAS_PROVISIONER_CONCURRENCY": "300"}},
		"metrics-listen":                 {args: []string{"--metrics-listen", "9100"}},
		"metrics-token":                  {args: []string{"--metrics-token", "short"}},
		"tls-key-file":                   {args: []string{"--tls-cert-file", "/etc/ssl/certs/x.pem"}},
		"tls-cert-file":                  {args: []string{"--tls-cert-file", "/nonexistent.pem", "--tls-key-file", "/nonexistent.key"}},
	}
	for want, c := range cases {
		t.Run(want, func(t *testing.T) {
			_, err := parse(t, c.args, c.env)
			name := strings.Fields(want)[0]
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		})
	}
}

func TestMissingSecretKeyFileFails(t *testing.T) {
	c := config.DefaultServer()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "secret-key-file") {
		t.Fatalf("got %v", err)
	}
}
