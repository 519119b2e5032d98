package allocation

import "github.com/gpuaas/gpuaas/api"

// Status is where an allocation is in its life. The values are the
// contract's (api.AllocationStatus, generated from api/openapi.yaml); the
// console's list is generated from the same enum.
type Status string

const (
	StatusRequested     = Status(api.AllocationStatusRequested)
	StatusProvisioning  = Status(api.AllocationStatusProvisioning)
	StatusActive        = Status(api.AllocationStatusActive)
	StatusReleasing     = Status(api.AllocationStatusReleasing)
	StatusReleased      = Status(api.AllocationStatusReleased)
	StatusFailed        = Status(api.AllocationStatusFailed)
	StatusReleaseFailed = Status(api.AllocationStatusReleaseFailed)
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusRequested, StatusProvisioning, StatusActive, StatusReleasing, StatusReleased, StatusFailed, StatusReleaseFailed}

// transitions is the one table of allowed status changes. Anything not
// listed is refused: 409 invalid_state at the API, logged and counted in a
// worker.
//
//	requested      → provisioning | releasing | failed
//	provisioning   → active | releasing | failed
//	active         → releasing | failed (node_lost)
//	releasing      → released | release_failed (past the release deadline) | failed (node_lost)
//	release_failed → released (a retry confirmed it) | releasing (asked again) | failed (node_lost)
//	released, failed: terminal
var transitions = map[Status][]Status{
	StatusRequested:     {StatusProvisioning, StatusReleasing, StatusFailed},
	StatusProvisioning:  {StatusActive, StatusReleasing, StatusFailed},
	StatusActive:        {StatusReleasing, StatusFailed},
	StatusReleasing:     {StatusReleased, StatusReleaseFailed, StatusFailed},
	StatusReleaseFailed: {StatusReleased, StatusReleasing, StatusFailed},
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether nothing more happens to an allocation in s.
func (s Status) Terminal() bool { return s == StatusReleased || s == StatusFailed }

// holdsGPUs reports whether an allocation in s keeps its devices reserved.
// release_failed keeps them: the workload may still be running.
func (s Status) holdsGPUs() bool { return !s.Terminal() }

// Event type of entering s.
func (s Status) eventType() string { return "allocation." + string(s) }

// Releasable is where a user's release is accepted.
func (s Status) userReleasable() bool {
	return s == StatusRequested || s == StatusProvisioning || s == StatusActive || s == StatusReleaseFailed
}
