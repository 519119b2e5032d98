#!/usr/bin/env bash
# web-test.sh
#
# The web console's checks, run by `make test` after the Go tests: npm ci,
# the OpenAPI type drift check, a production build (its tsc -b is the
# TypeScript check), the Vitest unit tests, then the browser journeys (scripts/web-e2e.sh).
set -euo pipefail
# shellcheck source=scripts/web-lib.sh
source "$(dirname "$0")/web-lib.sh"

web_have_node || web_die "node/npm not found: the web console's tests need Node.js 20.19 or later"

web_deps
cd "$WEB"
web_log "npm run check:api (web/src/api types match api/openapi.yaml)"
npm run check:api
cd "$ROOT"
# The build's `tsc -b` is the type check (one tsconfig): a separate
# `npm run typecheck` would do the same work again.
web_build always
cd "$WEB"
web_log "npm test (Vitest)"
npm test
cd "$ROOT"
"$ROOT/scripts/web-e2e.sh"
