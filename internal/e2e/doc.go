// Package e2e holds end-to-end tests that run the real `gpuaas` binary as
// separate processes (a control plane, a node agent, the CLI) against a
// real PostgreSQL and NATS, and talk to them only over the network, the
// way an operator and a user would. The in-process tests beside each
// package cover the same journeys faster; these catch what wiring through
// main, flags, environment and process boundaries can break.
//
// The package has no non-test code and must not grow any: nothing in the
// product may import it. Its tests skip where they cannot run for real
// (the process runtime needs root and the shadow-utils tools), and they
// leave no process, Linux user, database or NATS stream behind, even when
// they fail.
package e2e
