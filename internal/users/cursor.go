package users

import (
	"time"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Cursor times keep Postgres' microseconds, so keyset paging never skips
// rows created in the same millisecond.
const cursorTimeLayout = "2006-01-02T15:04:05.999999Z07:00"

func formatCursorTime(t time.Time) string { return t.UTC().Format(cursorTimeLayout) }

func parseCursorTime(s string) (time.Time, error) {
	t, err := time.Parse(cursorTimeLayout, s)
	if err != nil {
		return time.Time{}, apperr.Invalid("cursor is not one this server issued")
	}
	return t, nil
}
