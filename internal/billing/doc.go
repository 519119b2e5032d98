// Package billing turns allocation time into ledger debits and watches
// balances run down.
//
// It owns the usage_records windows (one per allocation, opened at the
// allocation's active transition and closed at released), the interim
// meter, the low-balance and depletion watch, the read views of balance and
// usage, and admin adjustments. Money moves only through package ledger.
//
// # The charge rule
//
// The total for a window of s seconds (whole seconds, rounded up) at
// price_per_hour_minor p is
//
//	charge(s, p) = ceil(s × p / 3600)  minor units
//
// computed in integers only: (s / 3600) × p + ceil((s mod 3600) × p / 3600).
// Interim debits count toward the total: the meter debits
// charge(seconds so far) − charged so far, and closing debits
// charge(total seconds) − charged so far (a credit, if the meter ran past the
// real end). So an allocation's debits always sum to charge(seconds so far).
//
// # Exactly once
//
// Every posting's idempotency key names the allocation and the step
// ("usage:<id>:upto:<seconds>", "usage:<id>:close"), the usage row is locked
// (FOR UPDATE) while it is charged, and each consumed event is recorded in
// consumer_applied in the same transaction; a duplicate, redelivered or
// reordered event therefore posts nothing twice.
//
// # Locks
//
// Usage rows are locked before ledger accounts (user, then platform), in
// allocation-id order, and a transaction charges one user only, so the
// meter, the watch, closes and adjustments never deadlock each other.
//
// The package must not change allocation state itself: depletion asks a
// Releaser (package allocation) to force-release.
package billing
