package ledger

import (
	"context"
	"fmt"
	"regexp"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// DefaultCurrency is the currency of a deployment that names none.
const DefaultCurrency = "USD"

// Kind says why money moved; it decides the platform account on the other
// side of the user's entry.
type Kind string

const (
	KindUsage      Kind = "usage"      // GPU time; the other side is revenue
	KindAdjustment Kind = "adjustment" // an admin's credit or debit; funding
	KindPayment    Kind = "payment"    // money paid in; funding
)

// Platform account kinds.
const (
	AccountRevenue = "revenue"
	AccountFunding = "funding"
)

// counterparty is the platform account that balances a posting of kind k.
func (k Kind) counterparty() (string, error) {
	switch k {
	case KindUsage:
		return AccountRevenue, nil
	case KindAdjustment, KindPayment:
		return AccountFunding, nil
	}
	return "", fmt.Errorf("unknown posting kind %q", k)
}

// Posting is one movement of money to or from a user.
type Posting struct {
	// Key makes the posting idempotent: a second posting with the same key
	// posts nothing.
	Key          string
	Kind         Kind
	UserID       uuid.UUID
	AllocationID uuid.UUID // uuid.Nil when not about an allocation
	Actor        uuid.UUID // who asked for it; uuid.Nil for the system
	Memo         string
	Currency     string
	// Amount is signed from the user's point of view: negative debits the
	// user, positive credits them.
	Amount int64
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (p Posting) validate() error {
	switch {
	case p.Key == "":
		return fmt.Errorf("posting needs an idempotency key")
	case p.UserID == uuid.Nil:
		return fmt.Errorf("posting needs a user")
	case !currencyRE.MatchString(p.Currency):
		return fmt.Errorf("posting currency %q is not an ISO 4217 code", p.Currency)
	}
	_, err := p.Kind.counterparty()
	return err
}

func nullUUID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

// Post records p through tx (nested in tx's transaction, or in a new one)
// and reports whether it posted: false when p.Key was used before or the
// amount is zero. Both accounts' running totals move in the same
// transaction as the entries.
func Post(ctx context.Context, tx *store.Store, p Posting) (posted bool, err error) {
	if err := p.validate(); err != nil {
		return false, err
	}
	if p.Amount == 0 {
		return false, nil
	}
	other, _ := p.Kind.counterparty()
	err = tx.InTx(ctx, func(tx *store.Store) error {
		txID, err := tx.InsertLedgerTransaction(ctx, db.InsertLedgerTransactionParams{
			IdempotencyKey: p.Key, Kind: string(p.Kind), UserID: nullUUID(p.UserID),
			AllocationID: nullUUID(p.AllocationID), ActorUserID: nullUUID(p.Actor), Memo: p.Memo,
		})
		if store.IsNoRows(err) {
			return nil // posted before: nothing to do
		}
		if err != nil {
			return fmt.Errorf("insert ledger transaction: %w", err)
		}
		// User account first, platform account second: the one lock order.
		user, err := lockUser(ctx, tx, p.UserID, p.Currency)
		if err != nil {
			return err
		}
		platform, err := lockPlatform(ctx, tx, other, p.Currency)
		if err != nil {
			return err
		}
		for _, e := range []struct {
			account uuid.UUID
			amount  int64
		}{{user, p.Amount}, {platform, -p.Amount}} {
			if err := tx.InsertLedgerEntry(ctx, db.InsertLedgerEntryParams{
				TransactionID: txID, AccountID: e.account, AmountMinor: e.amount,
			}); err != nil {
				return fmt.Errorf("insert ledger entry: %w", err)
			}
			if _, err := tx.AddAccountBalance(ctx, db.AddAccountBalanceParams{ID: e.account, Delta: e.amount}); err != nil {
				return fmt.Errorf("update account balance: %w", err)
			}
		}
		posted = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("post %s %s: %w", p.Kind, p.Key, err)
	}
	return posted, nil
}

// lockUser creates the user's account if it is missing and locks its row.
func lockUser(ctx context.Context, tx *store.Store, userID uuid.UUID, currency string) (uuid.UUID, error) {
	row, err := lockUserRow(ctx, tx, userID, currency)
	return row.ID, err
}

// lockUserRow locks the user's account row, creating it first when it is
// missing: the common case (it exists) is one statement, not an insert
// attempt and a lock.
func lockUserRow(ctx context.Context, tx *store.Store, userID uuid.UUID, currency string) (db.LockUserAccountRow, error) {
	p := db.LockUserAccountParams{UserID: nullUUID(userID), Currency: currency}
	row, err := tx.LockUserAccount(ctx, p)
	if store.IsNoRows(err) {
		if err := tx.EnsureUserAccount(ctx, db.EnsureUserAccountParams{UserID: nullUUID(userID), Currency: currency}); err != nil {
			return db.LockUserAccountRow{}, fmt.Errorf("create user account: %w", err)
		}
		row, err = tx.LockUserAccount(ctx, p)
	}
	if err != nil {
		return row, fmt.Errorf("lock user account: %w", err)
	}
	return row, nil
}

func lockPlatform(ctx context.Context, tx *store.Store, kind, currency string) (uuid.UUID, error) {
	p := db.LockPlatformAccountParams{Kind: kind, Currency: currency}
	row, err := tx.LockPlatformAccount(ctx, p)
	if store.IsNoRows(err) {
		if err := tx.EnsurePlatformAccount(ctx, db.EnsurePlatformAccountParams{Kind: kind, Currency: currency}); err != nil {
			return uuid.Nil, fmt.Errorf("create %s account: %w", kind, err)
		}
		row, err = tx.LockPlatformAccount(ctx, p)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("lock %s account: %w", kind, err)
	}
	return row.ID, nil
}

// Balance is the user's balance in currency: 0 for a user who never had a
// posting.
func Balance(ctx context.Context, q *db.Queries, userID uuid.UUID, currency string) (int64, error) {
	b, err := q.UserBalance(ctx, db.UserBalanceParams{UserID: nullUUID(userID), Currency: currency})
	if store.IsNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return b, nil
}

// LockBalance locks the user's account row until tx ends (creating the
// account if missing) and returns the balance. Inside an allocation-create
// transaction it serialises a user's creates against their balance, so two
// creates cannot both spend the same credit. tx must be a transaction.
func LockBalance(ctx context.Context, tx *store.Store, userID uuid.UUID, currency string) (int64, error) {
	if !currencyRE.MatchString(currency) {
		return 0, fmt.Errorf("lock balance: currency %q is not an ISO 4217 code", currency)
	}
	row, err := lockUserRow(ctx, tx, userID, currency)
	if err != nil {
		return 0, fmt.Errorf("lock balance: %w", err)
	}
	return row.BalanceMinor, nil
}

// BalanceLock is LockBalance in two steps, for a create that sends the
// lock with its other first reads in one round trip (store.Store.Together):
// Reads are the lock, of the user's account in a SKU's currency (read in
// SQL, since the create reads the SKU in the same round trip), then the
// statements that must read under it; Balance, once the round trip is
// back, is the balance it locked.
type BalanceLock struct {
	ctx    context.Context
	userID uuid.UUID
	skuID  string
	under  []func(q *db.Queries) error
	row    db.LockUserAccountForSKURow
	err    error
}

// LockBalanceForSKU is a BalanceLock of userID's account in skuID's
// currency; under are the statements that read under the lock.
func LockBalanceForSKU(ctx context.Context, userID uuid.UUID, skuID string, under ...func(q *db.Queries) error) *BalanceLock {
	return &BalanceLock{ctx: ctx, userID: userID, skuID: skuID, under: under}
}

// Reads are the lock's statement and then under, for store.Store.Together.
func (l *BalanceLock) Reads() []func(q *db.Queries) error {
	lock := func(q *db.Queries) error {
		l.row, l.err = q.LockUserAccountForSKU(l.ctx, db.LockUserAccountForSKUParams{UserID: nullUUID(l.userID), SkuID: l.skuID})
		return nil
	}
	return append([]func(q *db.Queries) error{lock}, l.under...)
}

// Balance is the locked balance in currency, the SKU's as the create read
// it. When Reads locked nothing (the user's first account in the
// currency) it locks the account by currency now, creating it, and runs
// under again, so that they read under the lock.
func (l *BalanceLock) Balance(tx *store.Store, currency string) (int64, error) {
	if l.err == nil && l.row.Currency == currency {
		return l.row.BalanceMinor, nil
	}
	if l.err != nil && !store.IsNoRows(l.err) {
		return 0, fmt.Errorf("lock balance: %w", l.err)
	}
	bal, err := LockBalance(l.ctx, tx, l.userID, currency)
	if err != nil {
		return 0, err
	}
	return bal, tx.Together(l.ctx, l.under...)
}

// Check verifies the ledger's invariants: every transaction's entries sum
// to zero and every account's running total equals the sum of its entries.
// It returns an error describing the first few breaks, or nil.
func Check(ctx context.Context, q *db.Queries) error {
	accts, err := q.LedgerAccountDrift(ctx)
	if err != nil {
		return fmt.Errorf("check account totals: %w", err)
	}
	txs, err := q.LedgerUnbalancedTransactions(ctx)
	if err != nil {
		return fmt.Errorf("check transaction sums: %w", err)
	}
	if len(accts) > 0 || len(txs) > 0 {
		return fmt.Errorf("ledger invariant broken: %d accounts drift from their entries (%+v), %d transactions do not sum to zero (%+v)",
			len(accts), accts, len(txs), txs)
	}
	return nil
}
