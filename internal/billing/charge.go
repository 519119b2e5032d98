package billing

import (
	"time"

	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Charge is what s whole seconds cost at pricePerHourMinor:
// ceil(s × price / 3600) minor units. Whole hours are multiplied out first
// so the product stays far from int64 overflow for any realistic price.
func Charge(seconds, pricePerHourMinor int64) int64 {
	if seconds <= 0 || pricePerHourMinor <= 0 {
		return 0
	}
	hours, rest := seconds/3600, seconds%3600
	return hours*pricePerHourMinor + (rest*pricePerHourMinor+3599)/3600
}

// Seconds is the length of [start, end) in whole seconds, rounded up; 0
// when end is not after start.
func Seconds(start, end time.Time) int64 {
	d := end.Sub(start)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// dbTime drops what Postgres cannot store, so a time computed with here is
// exactly the one read back later.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Billable is how many whole seconds (rounded up) of rec's window are
// charged by t: from its start to t, or to where it is paused if that is
// earlier, less the gaps it was paused for (a node offline and back).
func Billable(rec db.UsageRecord, t time.Time) int64 {
	end := t
	if rec.PausedAt != nil && rec.PausedAt.Before(end) {
		end = *rec.PausedAt
	}
	// The paused gaps move the start forward: what is left is the same
	// rounded-up span as an unpaused window's.
	return Seconds(rec.StartedAt.Add(time.Duration(rec.PausedMicros)*time.Microsecond), end)
}
