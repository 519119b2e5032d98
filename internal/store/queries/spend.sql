-- name: DailySpend :many
-- A user's usage charges per UTC day, SKU and currency since since:
-- GPU time under the allocation's SKU, storage under sku_id 'storage'.
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day,
       COALESCE(a.sku_id, 'storage')::text AS sku_id,
       la.currency,
       (-SUM(e.amount_minor))::bigint AS amount_minor
FROM ledger_transactions t
JOIN ledger_entries e ON e.transaction_id = t.id
JOIN ledger_accounts la ON la.id = e.account_id AND la.kind = 'user' AND la.user_id = sqlc.arg(user_id)::uuid
LEFT JOIN allocations a ON a.id = t.allocation_id
WHERE t.user_id = sqlc.arg(user_id)::uuid AND t.kind = 'usage' AND t.created_at >= @since::timestamptz
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
