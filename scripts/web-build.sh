#!/usr/bin/env bash
# web-build.sh [--force]
#
# Builds the web console into web/dist, which `go build` embeds (web/embed.go).
# `make run` calls it before `gpuaas dev`. Without Node.js it says so and
# exits 0: the binary then serves a page that explains how to build the
# console. npm ci is skipped while web/node_modules matches the lock file, and
# the build while web/dist is newer than every source (--force rebuilds).
set -euo pipefail
# shellcheck source=scripts/web-lib.sh
source "$(dirname "$0")/web-lib.sh"

if ! web_have_node; then
	web_log "node/npm not found: not building the web console (the server will serve a 'console not built' page)."
	web_log "Install Node.js 20.19 or later and run 'make run' again, or: cd web && npm ci && npm run build"
	exit 0
fi
mode=if-stale
[ "${1:-}" = --force ] && mode=always
web_deps
web_build "$mode"
