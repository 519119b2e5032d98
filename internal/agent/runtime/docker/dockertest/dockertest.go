// Package dockertest finds the Docker Engine the tests run against:
// GPUAAS_TEST_DOCKER_HOST, which `make test` sets to the private engine
// scripts/ensure-services.sh starts. Without it a test skips, except in CI
// (CI=true), where a missing engine is a failure, not a skip.
package dockertest

import (
	"os"
	"testing"
)

// Image is the offline test image scripts/ensure-services.sh builds from
// a static busybox.
const Image = "ci/busybox:latest"

// Host returns the engine's address (unix:///…/docker.sock), or skips t
// (fails it when CI=true) when none is configured.
func Host(t testing.TB) string {
	t.Helper()
	h := os.Getenv("GPUAAS_TEST_DOCKER_HOST")
	if h != "" {
		return h
	}
	const why = "GPUAAS_TEST_DOCKER_HOST is not set: run `scripts/ensure-services.sh docker` and export the GPUAAS_TEST_DOCKER_HOST it prints (make test does both)"
	if os.Getenv("CI") == "true" {
		t.Fatal("docker engine required in CI: " + why)
	}
	t.Skip("no docker engine: " + why)
	return ""
}
