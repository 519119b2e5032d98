// Package audit owns the audit log: the one Record call every mutation makes
// inside its own transaction, the list of actions and the metadata keys each
// may carry (anything else is refused, so secrets cannot leak in by
// accident), and the admin read paths (filtered pages and the streamed CSV
// export, neutralised against spreadsheet formula injection).
package audit
