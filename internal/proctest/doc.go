// Package proctest runs the gpuaas binary as real processes for tests that
// must (end-to-end, soak, fault injection): it builds ./cmd/gpuaas once
// into a folder, starts long-running children in their own process group
// with their output kept (whole or its tail), stops them with SIGTERM then
// SIGKILL on t.Cleanup, and polls conditions while watching them. It is
// imported only by tests.
package proctest
