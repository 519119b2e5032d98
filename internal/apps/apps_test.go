package apps

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/kv"
)

func TestSplitPath(t *testing.T) {
	id := uuid.New()
	for _, tc := range []struct {
		in         string
		ok         bool
		port, rest string
	}{
		{"/apps/" + id.String() + "/web/", true, "web", "/"},
		{"/apps/" + id.String() + "/web", true, "web", ""},
		{"/apps/" + id.String() + "/web/a/b%2Fc?x", true, "web", "/a/b%2Fc?x"},
		{"/apps/" + id.String() + "/", false, "", ""},
		{"/apps/" + id.String(), false, "", ""},
		{"/apps/not-a-uuid/web/", false, "", ""},
		{"/apps/" + id.String()[:35] + "/web/", false, "", ""},
		{"/apps/{" + id.String() + "}/web/", false, "", ""},
		{"/apps/" + id.String() + "/" + string(make([]byte, 33)) + "/", false, "", ""},
		{"/api/v1/apps/" + id.String() + "/web/", false, "", ""},
	} {
		gotID, port, rest, ok := splitPath(tc.in)
		if ok != tc.ok || (ok && (gotID != id || port != tc.port || rest != tc.rest)) {
			t.Errorf("splitPath(%q) = %s %q %q %v", tc.in, gotID, port, rest, ok)
		}
	}
}

func TestStripCookie(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; gpuaas_app=secret; b=2", "gpuaas_app=x", "c=3"}}
	stripCookie(h, CookieName)
	if got := h.Values("Cookie"); len(got) != 2 || got[0] != "a=1; b=2" || got[1] != "c=3" {
		t.Errorf("cookies left %q", got)
	}
}

// TestTicketsAreOneTime: a ticket is redeemed once, even by racers, and a
// forged or foreign one never.
func TestTicketsAreOneTime(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	tk := NewTickets(kv.NewMemory(func() time.Time { return now }), make([]byte, 32))
	tk.now = func() time.Time { return now }
	g := Grant{UserID: uuid.New(), AllocationID: uuid.New(), Port: "lab"}
	ticket, exp, err := tk.Mint(ctx, g)
	if err != nil || exp.Sub(now) != TicketTTL {
		t.Fatalf("mint: %v, expires %v", err, exp)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := tk.Redeem(ctx, ticket); err == nil && got == g {
				wins.Add(1)
			} else if !errors.Is(err, ErrTicket) {
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d redeems won, want 1", wins.Load())
	}
	for _, bad := range []string{"", "gpa_", "gpa_forged", "gpt_" + ticket[4:], ticket + "x"} {
		if _, err := tk.Redeem(ctx, bad); !errors.Is(err, ErrTicket) {
			t.Errorf("redeem %q: %v", bad, err)
		}
	}
	// Expired.
	late, _, _ := tk.Mint(ctx, g)
	now = now.Add(TicketTTL + time.Second)
	if _, err := tk.Redeem(ctx, late); !errors.Is(err, ErrTicket) {
		t.Errorf("an expired ticket: %v", err)
	}
}

// TestCookieIsSealed: the cookie opens only unaltered, unexpired and with
// the key that sealed it.
func TestCookieIsSealed(t *testing.T) {
	now := time.Now()
	key := make([]byte, 32)
	tk := NewTickets(kv.NewMemory(nil), key)
	tk.now = func() time.Time { return now }
	g := Grant{UserID: uuid.New(), AllocationID: uuid.New(), Port: "web"}
	v, exp, err := tk.Cookie(g)
	if err != nil || exp.Sub(now) != CookieTTL {
		t.Fatalf("cookie: %v %v", err, exp)
	}
	got, ok := tk.OpenCookie(v)
	if !ok || got.UserID != g.UserID || got.AllocationID != g.AllocationID || got.Port != g.Port {
		t.Fatalf("open: %+v %v", got, ok)
	}
	flipped := []byte(v)
	flipped[len(flipped)/2] ^= 1
	other := NewTickets(kv.NewMemory(nil), append(make([]byte, 31), 1))
	for name, ok := range map[string]bool{
		"altered":   func() bool { _, ok := tk.OpenCookie(string(flipped)); return ok }(),
		"other key": func() bool { _, ok := other.OpenCookie(v); return ok }(),
		"garbage":   func() bool { _, ok := tk.OpenCookie("%%%"); return ok }(),
	} {
		if ok {
			t.Errorf("%s cookie opened", name)
		}
	}
	now = now.Add(CookieTTL)
	if _, ok := tk.OpenCookie(v); ok {
		t.Error("an expired cookie opened")
	}
}
