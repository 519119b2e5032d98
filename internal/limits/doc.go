// Package limits owns spend limits: per user (later per team) caps on the
// GPUs held at once, the usage charged in a calendar month and the hourly
// burn rate, set by admins over platform defaults. Check runs inside the
// allocation-create transaction, under the account lock the funds check
// takes (and a per-user lock for the GPU count, which spans currencies), so
// racing creates are judged one after another and never exceed a limit
// together. A limit only refuses creates: it never stops what already runs.
//
// It must not meter, post to the ledger or release anything: billing does.
package limits
