package devenv

import (
	"bytes"
	"strings"
	"testing"
)

func TestWelcome(t *testing.T) {
	var b bytes.Buffer
	writeWelcome(&b, welcome{URL: "http://127.0.0.1:8080", Password: "PW123", Source: FromFile,
		DataDir: "/d", NATS: "nats://127.0.0.1:1234 (embedded)", Command: "gpuaas"})
	out := b.String()
	for _, want := range []string{
		"http://127.0.0.1:8080",
		"admin  (role admin)  password: PW123",
		"demo   (role user)  password: PW123",
		"gpuaas login --server http://127.0.0.1:8080 --username demo",
		"gpuaas skus",
		"kept in /d/dev-password",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("welcome lacks %q:\n%s", want, out)
		}
	}
}
