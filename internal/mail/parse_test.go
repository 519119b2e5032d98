package mail_test

import (
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/mail"
)

func TestParseServer(t *testing.T) {
	s, err := mail.ParseServer("smtp://bob:s%40cret@mail.example.com:587?tls=starttls", "GPUaaS <noreply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	if s.Host != "mail.example.com" || s.Port != "587" || s.TLS != "starttls" || s.Username != "bob" || s.Password != "s@cret" ||
		s.From.Address != "noreply@example.com" {
		t.Fatalf("%+v", s)
	}
	if s, err := mail.ParseServer("smtps://mail.example.com:465", "a@example.com"); err != nil || s.TLS != "tls" {
		t.Fatalf("smtps: %+v %v", s, err)
	}
	for _, bad := range []struct{ url, from string }{
		{"http://mail.example.com:25", "a@example.com"},
		{"smtp://mail.example.com", "a@example.com"},
		{"smtp://mail.example.com:25?tls=maybe", "a@example.com"},
		{"smtp://mail.example.com:25", "not an address"},
	} {
		if _, err := mail.ParseServer(bad.url, bad.from); err == nil {
			t.Errorf("ParseServer(%q, %q) accepted", bad.url, bad.from)
		}
	}
}

// Compose escapes what it puts in the HTML part.
func TestComposeEscapesHTML(t *testing.T) {
	c := mail.Compose(`"<b>x</b>" failed`, "a <script> & b", "https://c.example/allocations/1?a=1&b=2", "")
	if c.Subject != `"<b>x</b>" failed` {
		t.Fatalf("subject %q", c.Subject)
	}
	for _, bad := range []string{"<script>", "<b>x"} {
		if strings.Contains(c.HTML, bad) {
			t.Fatalf("HTML %q contains %q unescaped", c.HTML, bad)
		}
	}
	if !strings.Contains(c.Text, "a <script> & b") || !strings.Contains(c.HTML, "a=1&amp;b=2") {
		t.Fatalf("text %q html %q", c.Text, c.HTML)
	}
}
