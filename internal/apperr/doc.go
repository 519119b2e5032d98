// Package apperr owns the typed errors that domain packages return and the
// stable, machine-readable codes that clients see.
//
// A domain package says what went wrong (not found, conflict, invalid ...)
// and never how it is rendered; the HTTP layer turns an *Error into the JSON
// envelope and a status in one place (httpapi.WriteError). Errors that are
// not *Error are internal: they are logged and never shown to a caller.
package apperr
