package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// The whole path in a real server with --smtp-url at mailpit: a failed
// allocation's notification is stored, queued by the notify consumer and
// sent by the worker's mailer, and arrives by email; the preferences say
// mail is on.
func TestAllocationFailedIsMailed(t *testing.T) {
	t.Parallel()
	smtpURL, mailpit := os.Getenv("GPUAAS_TEST_SMTP"), os.Getenv("GPUAAS_TEST_MAILPIT_API")
	if smtpURL == "" || mailpit == "" {
		if strings.EqualFold(os.Getenv("CI"), "true") {
			t.Fatal("GPUAAS_TEST_SMTP and GPUAAS_TEST_MAILPIT_API are required in CI (scripts/ensure-services.sh mailpit)")
		}
		t.Skip("GPUAAS_TEST_SMTP / GPUAAS_TEST_MAILPIT_API not set: run scripts/ensure-services.sh mailpit")
	}
	env := servertest.Start(t, func(c *config.Server) {
		c.Mail = config.Mail{SMTPURL: smtpURL, From: "GPUaaS <noreply@gpuaas.test>", PollInterval: 100 * time.Millisecond}
		c.SimFailureRate = 1 // every provision fails
	})
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, u := env.As("user")
	if p, err := c.NotificationPreferences(ctx); err != nil || !p.MailEnabled {
		t.Fatalf("preferences: %+v %v", p, err)
	}
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Name: sdk.Ptr("mail-me")}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusFailed)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out struct {
			Messages []struct {
				Subject string
				To      []struct{ Address string }
			} `json:"messages"`
		}
		resp, err := http.Get(mailpit + "/api/v1/messages?limit=1000")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if len(m.To) == 1 && strings.EqualFold(m.To[0].Address, u.Email) {
				if m.Subject != `"mail-me" failed` {
					t.Fatalf("subject %q", m.Subject)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s within 20 s", u.Email)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
