package money_test

import (
	"math"
	"testing"

	"github.com/gpuaas/gpuaas/internal/money"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{25, "USD", "USD 0.25"},
		{0, "USD", "USD 0.00"},
		{249, "USD", "USD 2.49"},
		{-5, "EUR", "EUR -0.05"},
		{300, "JPY", "JPY 300"},
		{1250, "KWD", "KWD 1.250"},
		{math.MinInt64, "USD", "USD -92233720368547758.08"},
	} {
		if got := money.Format(c.minor, c.currency); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}

func TestKnown(t *testing.T) {
	for code, want := range map[string]bool{"USD": true, "EUR": true, "JPY": true, "KWD": true,
		"usd": false, "US": false, "XXX": false, "": false, "USDD": false} {
		if got := money.Known(code); got != want {
			t.Errorf("Known(%q) = %v, want %v", code, got, want)
		}
	}
}
