// Package allocation owns the allocation lifecycle: placement of a request
// on specific GPU devices, the one table of allowed status transitions
// (states.go, drawn in docs/allocation-lifecycle.md), the provisioning
// worker that drives allocations through a Runtime, and the reconciler that
// retries or fails allocations stuck in a transitional status.
//
// Every status change goes through transition, which writes the audit row
// and the outbox event in the same transaction. Desired state (what the API
// asked for) and observed state (what the runtime reported) are separate
// columns. It does not post money: billing follows the events.
//
// It also keeps what happened to a container allocation's workload
// (events.go, GET /api/v1/allocations/{id}/events): lifecycle events are
// stored by transition in the same transaction, pull progress, exits and
// app readiness as the node reports them. Only docker allocations store
// events: a shell allocation's few are derived from its row when read, so
// the shell create path (issue 10's creates per second) stays one insert.
package allocation
