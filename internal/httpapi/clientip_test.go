package httpapi_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gpuaas/gpuaas/internal/httpapi"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "198.51.100.1:5000", nil, "198.51.100.1"},
		{"untrusted peer's header ignored", "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"trusted peer", "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"right-most untrusted wins", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"several headers", "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"all trusted", "10.1.2.3:5000", []string{"10.4.4.4"}, "10.4.4.4"},
		{"no header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"garbage stops the walk", "10.1.2.3:5000", []string{"203.0.113.9, not-an-ip"}, "10.1.2.3"},
		{"garbage behind a trusted hop", "10.1.2.3:5000", []string{"junk, 10.7.7.7"}, "10.7.7.7"},
		{"IPv6 loopback proxy", "[::1]:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"mapped IPv4", "10.1.2.3:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := httpapi.ClientIP(r, trusted); got != tc.want {
			t.Errorf("%s: ClientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}
