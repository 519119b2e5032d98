package billing

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
)

// MaxAdjustmentMinor bounds one adjustment either way, so a typo of a few
// extra digits is refused rather than posted.
const MaxAdjustmentMinor = 1_000_000_000_000

// MaxReasonLength is the longest adjustment reason, in characters.
const MaxReasonLength = 500

// Adjust posts an admin's credit (positive) or debit (negative) to the
// user's balance, audited in the same transaction; a credit also emits
// billing.balance_credited. idempotencyKey (the admin's Idempotency-Key, or
// empty for a fresh one) makes a retry post nothing more. It returns the
// balance afterwards.
func (b *Billing) Adjust(ctx context.Context, actor, userID uuid.UUID, amountMinor int64, reason, idempotencyKey string) (api.BalanceResponse, error) {
	var out api.BalanceResponse
	err := b.st.InTx(ctx, func(tx *store.Store) error {
		var err error
		out, err = b.AdjustIn(ctx, tx, actor, userID, amountMinor, reason, idempotencyKey)
		return err
	})
	return out, err
}

// AdjustIn is Adjust inside the caller's transaction tx (the idempotent
// request's), so a request holds one pool connection, never two.
func (b *Billing) AdjustIn(ctx context.Context, tx *store.Store, actor, userID uuid.UUID, amountMinor int64, reason, idempotencyKey string) (api.BalanceResponse, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case amountMinor == 0:
		return api.BalanceResponse{}, apperr.Invalid("amount_minor must not be zero")
	case amountMinor > MaxAdjustmentMinor || amountMinor < -MaxAdjustmentMinor:
		return api.BalanceResponse{}, apperr.Invalid("amount_minor must be at most %d either way", int64(MaxAdjustmentMinor))
	case reason == "":
		return api.BalanceResponse{}, apperr.Invalid("reason is required")
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxReasonLength:
		return api.BalanceResponse{}, apperr.Invalid("reason must be valid text of at most %d characters", MaxReasonLength)
	}
	key := "adjustment:" + uuid.NewString()
	if idempotencyKey != "" {
		// Scoped to the admin and the target, as Idempotency-Keys are per caller.
		key = "adjustment:" + actor.String() + ":" + userID.String() + ":" + idempotencyKey
	}
	var out api.BalanceResponse
	err := tx.InTx(ctx, func(tx *store.Store) error {
		exists, err := tx.BillingUserExists(ctx, userID)
		if err != nil {
			return fmt.Errorf("look up user: %w", err)
		}
		if !exists {
			return apperr.NotFound("user")
		}
		posted, err := ledger.Post(ctx, tx, ledger.Posting{
			Key: key, Kind: ledger.KindAdjustment, UserID: userID, Actor: actor,
			Memo: reason, Currency: b.currency, Amount: amountMinor,
		})
		if err != nil {
			return err
		}
		if out, err = b.balance(ctx, tx.Queries, userID, b.now()); err != nil {
			return err
		}
		if !posted {
			return nil // a retry: the first attempt audited and announced it
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionBillingAdjustment, TargetType: "user", TargetID: userID.String(),
			Metadata: map[string]any{"amount_minor": amountMinor, "reason": reason, "currency": b.currency},
		}); err != nil {
			return err
		}
		if amountMinor > 0 {
			_, err := events.Enqueue(ctx, tx, b.naming, events.BillingBalanceCredited, events.Balance{
				UserID: userID, BalanceMinor: out.BalanceMinor, Currency: b.currency, RunwaySeconds: out.RunwaySeconds, At: b.now().UTC(),
			})
			return err
		}
		return nil
	})
	if err != nil {
		return api.BalanceResponse{}, fmt.Errorf("adjust balance of user %s: %w", userID, err)
	}
	return out, nil
}
