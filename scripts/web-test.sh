#!/usr/bin/env bash
# web-test.sh
#
# The web console's checks, run by `make test` after the Go tests: npm ci,
# the OpenAPI type drift check, the TypeScript check, the Vitest unit tests,
# a production build, then the browser journeys (scripts/web-e2e.sh).
set -euo pipefail
# shellcheck source=scripts/web-lib.sh
source "$(dirname "$0")/web-lib.sh"

web_have_node || web_die "node/npm not found: the web console's tests need Node.js 20.19 or later"

web_deps
cd "$WEB"
web_log "npm run check:api (web/src/api types match api/openapi.yaml)"
npm run check:api
web_log "npm run typecheck"
npm run typecheck
web_log "npm test (Vitest)"
npm test
cd "$ROOT"
web_build always
"$ROOT/scripts/web-e2e.sh"
