-- name: InsertLedgerTransaction :one
-- The idempotency gate: a key already used inserts nothing and returns no
-- row, so the caller posts nothing. A concurrent insert of the same key
-- waits for the first to commit and then finds the conflict.
INSERT INTO ledger_transactions (idempotency_key, kind, user_id, allocation_id, actor_user_id, memo)
VALUES (@idempotency_key, @kind, @user_id, @allocation_id, @actor_user_id, @memo)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id;

-- name: EnsureUserAccount :exec
INSERT INTO ledger_accounts (kind, user_id, currency) VALUES ('user', @user_id, @currency)
ON CONFLICT (user_id, currency) WHERE kind = 'user' DO NOTHING;

-- name: EnsurePlatformAccount :exec
INSERT INTO ledger_accounts (kind, currency) VALUES (@kind, @currency)
ON CONFLICT (kind, currency) WHERE kind <> 'user' DO NOTHING;

-- name: LockUserAccount :one
SELECT id, balance_minor FROM ledger_accounts
WHERE kind = 'user' AND user_id = @user_id AND currency = @currency
FOR UPDATE;

-- name: LockUserAccountForSKU :one
-- LockUserAccount in the currency of a SKU, for a create that reads the
-- SKU in the same round trip (store.Store.Together).
SELECT id, balance_minor, currency FROM ledger_accounts
WHERE kind = 'user' AND user_id = @user_id
  AND currency = (SELECT s.currency FROM skus s WHERE s.id = @sku_id)
FOR UPDATE;

-- name: LockPlatformAccount :one
SELECT id, balance_minor FROM ledger_accounts
WHERE kind = @kind AND user_id IS NULL AND currency = @currency
FOR UPDATE;

-- name: InsertLedgerEntry :exec
INSERT INTO ledger_entries (transaction_id, account_id, amount_minor)
VALUES (@transaction_id, @account_id, @amount_minor);

-- name: AddAccountBalance :one
UPDATE ledger_accounts SET balance_minor = balance_minor + @delta
WHERE id = @id
RETURNING balance_minor;

-- name: UserBalance :one
SELECT balance_minor FROM ledger_accounts
WHERE kind = 'user' AND user_id = @user_id AND currency = @currency;

-- name: LedgerAccountDrift :many
-- Accounts whose running total differs from the sum of their entries; the
-- invariant says this is always empty.
SELECT a.id, a.kind, a.balance_minor, COALESCE(SUM(e.amount_minor), 0)::bigint AS entries_sum
FROM ledger_accounts a
LEFT JOIN ledger_entries e ON e.account_id = a.id
GROUP BY a.id
HAVING a.balance_minor <> COALESCE(SUM(e.amount_minor), 0);

-- name: LedgerUnbalancedTransactions :many
-- Transactions whose entries do not sum to zero; always empty.
SELECT transaction_id, SUM(amount_minor)::bigint AS total
FROM ledger_entries
GROUP BY transaction_id
HAVING SUM(amount_minor) <> 0;
