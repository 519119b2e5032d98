package storage_test

import (
	"testing"

	"github.com/gpuaas/gpuaas/internal/storage"
)

func TestDayChargeIsExact(t *testing.T) {
	// 10 GiB at 3.00 a GiB-month: 1.00 a day.
	if a, r := storage.DayCharge(10<<30, 300, 0); a != 100 || r != 0 {
		t.Fatalf("10 GiB at 300: %d rem %d", a, r)
	}
	// 1 GiB at 0.01 a GiB-month: nothing a day, 0.01 over 30 days.
	var total, rem int64
	for range 30 {
		var a int64
		a, rem = storage.DayCharge(1<<30, 1, rem)
		total += a
	}
	if total != 1 || rem != 0 {
		t.Fatalf("30 days of 1 GiB at 1: %d rem %d", total, rem)
	}
	// A petabyte at a large price does not overflow.
	if a, _ := storage.DayCharge(1<<50, 1_000_000, 0); a != (1<<20)*1_000_000/30 {
		t.Fatalf("1 PiB: %d", a)
	}
}
