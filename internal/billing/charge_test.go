package billing_test

import (
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/billing"
)

func TestChargeRounding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		secs, price, want int64
	}{
		{0, 250, 0},
		{1, 250, 1},      // 0.069… rounds up to 1
		{1, 3600, 1},     // exactly 1
		{1, 3601, 2},     // 1.0003 rounds up
		{3599, 250, 250}, // 249.93 rounds up to the full hour
		{3600, 250, 250}, // exactly one hour
		{3601, 250, 251}, // an hour and a sliver
		{7200, 199, 398}, // whole hours multiply out
		{90, 1, 1},       // sub-minor amounts still cost one minor unit
		{1800, 333, 167}, // 166.5 rounds up
		{86400 * 365, 3_200_000, 3_200_000 * 24 * 365},
		{5, 0, 0}, // a free SKU
	} {
		if got := billing.Charge(c.secs, c.price); got != c.want {
			t.Errorf("Charge(%d s, %d/h) = %d, want %d", c.secs, c.price, got, c.want)
		}
	}
}

func TestSecondsRoundUp(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0}, {-time.Second, 0}, {time.Microsecond, 1}, {time.Second, 1},
		{time.Second + time.Microsecond, 2}, {90*time.Second + 500*time.Millisecond, 91},
	} {
		if got := billing.Seconds(t0, t0.Add(c.d)); got != c.want {
			t.Errorf("Seconds(%s) = %d, want %d", c.d, got, c.want)
		}
	}
}
