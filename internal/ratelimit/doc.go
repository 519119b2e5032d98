// Package ratelimit turns the shared token buckets of package kv into
// request decisions: allowed, or a 429 apperr with Retry-After.
//
// It fails open: when the hot-state store is down, requests are allowed,
// a warning is logged and gpuaas_kv_fail_open_total counts it, because an
// outage of Redis must not become an outage of the API. Other packages that
// fail open on the same store (the token deny-list, login counters) report
// through FailOpen so there is one metric to alert on.
//
// It must not decide keys or limits: callers name the bucket and its rate.
package ratelimit
