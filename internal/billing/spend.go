package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MaxDailySpendDays is how far back DailySpend looks at most.
const MaxDailySpendDays = 366

// DailySpend is userID's usage charges per UTC day, SKU and currency over
// the last days days, today included (the console's spend chart).
func (b *Billing) DailySpend(ctx context.Context, userID uuid.UUID, days int) (api.DailySpend, error) {
	if days < 1 || days > MaxDailySpendDays {
		return api.DailySpend{}, apperr.Invalid("days must be 1 to %d", MaxDailySpendDays)
	}
	now := b.now().UTC()
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-days)
	rows, err := b.st.DailySpend(ctx, db.DailySpendParams{UserID: userID, Since: since})
	if err != nil {
		return api.DailySpend{}, fmt.Errorf("read daily spend: %w", err)
	}
	out := api.DailySpend{Since: openapi_types.Date{Time: since}, Items: make([]api.DailySpendItem, len(rows))}
	for i, r := range rows {
		out.Items[i] = api.DailySpendItem{Day: openapi_types.Date{Time: r.Day.Time}, SkuId: r.SkuID, Currency: r.Currency, AmountMinor: r.AmountMinor}
	}
	return out, nil
}
