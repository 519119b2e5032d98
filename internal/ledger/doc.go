// Package ledger owns the platform's money: an append-only, double-entry
// ledger in integer minor units.
//
// Every posting is one ledger_transactions row with a unique idempotency key
// and exactly two ledger_entries rows that sum to zero: the user's account
// and a platform account (revenue for usage, funding for adjustments and
// payments). Posting a key twice posts once. A balance is the sum of an
// account's entries; ledger_accounts.balance_minor is a running total kept
// in the same transaction as each entry, and tests hold it equal to that sum.
//
// Locks are taken in one order everywhere, so postings never deadlock each
// other: the user's account row first, then the platform account row. A
// transaction should therefore post for one user only; callers that lock
// other rows (usage records) take those before posting.
//
// The package must not compute prices or usage (package billing does) and
// never updates or deletes ledger rows: a trigger refuses it.
package ledger
