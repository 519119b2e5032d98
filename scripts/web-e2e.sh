#!/usr/bin/env bash
# web-e2e.sh [JOURNEY-FILTER]
#
# Runs the web console's browser journeys (web/e2e/journeys/*.mjs) in
# headless Debian chromium against a real `gpuaas dev`: builds bin/gpuaas with
# the console embedded, starts it on a free loopback port with a database and
# data dir of its own, runs `node web/e2e/run.mjs`, then always stops the
# server and drops the database. Screenshots and axe reports go to
# web/e2e/artifacts (git-ignored). A filter runs only the journeys whose
# name contains it (also E2E_ONLY).
#
#   CHROMIUM       browser binary (default /usr/bin/chromium; `.ci/run` installs it)
#   E2E_KEEP=1     keep the database and the server's data dir for a look afterwards
#   E2E_NO_BUILD=1 embed web/dist as it is (while iterating on journeys)
set -euo pipefail
# shellcheck source=scripts/web-lib.sh
source "$(dirname "$0")/web-lib.sh"
cd "$ROOT"
if ! command -v go >/dev/null 2>&1; then export PATH="/usr/local/go/bin:$PATH"; fi

web_have_node || web_die "node/npm not found: the browser journeys need Node.js 20.19 or later"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || web_die "no browser at $CHROMIUM: install Debian's chromium (apt-get install chromium) or set CHROMIUM"

scripts/ensure-services.sh postgres
web_deps
if [ "${E2E_NO_BUILD:-}" = 1 ]; then
	[ -f web/dist/index.html ] || web_die "E2E_NO_BUILD=1 but web/dist/index.html is missing"
	web_log "E2E_NO_BUILD=1: embedding web/dist as it is"
else
	web_build if-stale
fi
web_log "go build -o bin/gpuaas ./cmd/gpuaas (console embedded)"
go build -o bin/gpuaas ./cmd/gpuaas

PG_URL="${E2E_PG_URL:-postgres://postgres@127.0.0.1:5432}"
DB="gpuaas_e2e_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpuaas-e2e.XXXXXX")"
LOG="$WORK/server.log"
PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
BASE_URL="http://127.0.0.1:$PORT"
PASSWORD="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
SERVER_PID=""
IDP_PID=""
STANDIN_PID=""

log_tail() {
	local f
	for f in "$LOG" "$WORK/idp.log" "$WORK/standin.log"; do
		[ -s "$f" ] || continue
		web_log "last lines of $f:"
		tail -n 80 "$f" >&2 || true
	done
}

cleanup() {
	local rc=$?
	set +e
	if [ -n "$IDP_PID" ]; then kill -TERM "$IDP_PID" 2>/dev/null; wait "$IDP_PID" 2>/dev/null; fi
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID"
		for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$SERVER_PID" 2>/dev/null && { web_log "server did not stop in 10 s; killing it"; kill -KILL "$SERVER_PID"; }
		wait "$SERVER_PID" 2>/dev/null
	fi
	if [ -n "$STANDIN_PID" ]; then kill "$STANDIN_PID" 2>/dev/null; wait "$STANDIN_PID" 2>/dev/null; fi
	if [ "$rc" != 0 ]; then
		log_tail
		web_log "FAILED (exit $rc); screenshots and reports in web/e2e/artifacts"
	fi
	if [ "${E2E_KEEP:-}" = 1 ]; then
		web_log "kept database $DB and $WORK (E2E_KEEP=1)"
	else
		psql "$PG_URL/postgres?sslmode=disable" -qAt -v ON_ERROR_STOP=1 \
			-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null ||
			web_log "could not drop database $DB"
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A real OIDC provider (Ory Hydra with web/e2e/idp.mjs as its login and
# consent pages) for the journeys that sign in through one, when
# scripts/ensure-services.sh hydra has built it.
HYDRA_BIN="${GPUAAS_TEST_HYDRA:-${GPUAAS_HYDRA_DIR:-/var/lib/gpuaas-ci-hydra}/bin/hydra-v2.3.0}"
OIDC_FLAGS=()
E2E_OIDC=""
if [ -x "$HYDRA_BIN" ]; then
	node web/e2e/idp.mjs "$HYDRA_BIN" "$WORK/idp" "$BASE_URL/api/v1/auth/oidc/hydra/callback" 2>>"$WORK/idp.log" &
	IDP_PID=$!
	for _ in $(seq 1 300); do
		[ -f "$WORK/idp/idp.env" ] && break
		kill -0 "$IDP_PID" 2>/dev/null || { cat "$WORK/idp.log" >&2; web_die "the OIDC provider did not start"; }
		sleep 0.1
	done
	[ -f "$WORK/idp/idp.env" ] || web_die "the OIDC provider was not ready in 30 s"
	# shellcheck disable=SC1091
	source "$WORK/idp/idp.env"
	[ -n "${ISSUER:-}" ] && [ -n "${CLIENT_ID:-}" ] ||
		web_die "the OIDC provider wrote an incomplete $WORK/idp/idp.env"
	OIDC_FLAGS=(--oidc-name hydra --oidc-issuer "$ISSUER" --oidc-client-id "$CLIENT_ID"
		--oidc-client-secret-file "$CLIENT_SECRET_FILE")
	E2E_OIDC=hydra
	web_log "OIDC provider hydra at $ISSUER"
else
	web_log "no Hydra at $HYDRA_BIN (scripts/ensure-services.sh hydra builds it): journeys that sign in through a provider are skipped"
fi
# Stripe's part is played by the test-only stand-in (internal/payments/
# paymentstest): the payments journey pays on its hosted page, which
# delivers the signed webhook to the server.
echo sk_test_e2e > "$WORK/stripe.key"
echo "whsec_e2e_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" > "$WORK/stripe-webhook.secret"
go build -o "$WORK/stripe-standin" ./internal/payments/paymentstest/standin
"$WORK/stripe-standin" --webhook-url "$BASE_URL/api/v1/payments/webhooks/stripe" \
	--webhook-secret-file "$WORK/stripe-webhook.secret" >"$WORK/standin.url" 2>"$WORK/standin.log" &
STANDIN_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/standin.url" ] && break; sleep 0.1; done
STRIPE_URL="$(head -n1 "$WORK/standin.url")"
[ -n "$STRIPE_URL" ] || web_die "the Stripe stand-in did not start (log $WORK/standin.log)"
web_log "Stripe stand-in at $STRIPE_URL"

web_log "starting gpuaas dev on $BASE_URL (database $DB, data dir $WORK/data)"
GPUAAS_DEV_PASSWORD="$PASSWORD" bin/gpuaas dev "${OIDC_FLAGS[@]}" \
	--listen "127.0.0.1:$PORT" \
	--database-url "$PG_URL/$DB?sslmode=disable" \
	--data-dir "$WORK/data" \
	--stripe-api-url "$STRIPE_URL" \
	--stripe-secret-key-file "$WORK/stripe.key" \
	--stripe-webhook-secret-file "$WORK/stripe-webhook.secret" \
	--log-level info >"$LOG" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 600); do
	kill -0 "$SERVER_PID" 2>/dev/null || web_die "gpuaas dev exited before it was ready"
	if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$BASE_URL/readyz"; then
		ready=1
		break
	fi
	sleep 0.2
done
[ -n "$ready" ] || web_die "gpuaas dev was not ready at $BASE_URL/readyz within 120 s"
web_log "gpuaas dev is ready"

rm -rf web/e2e/artifacts
mkdir -p web/e2e/artifacts
BASE_URL="$BASE_URL" \
	ADMIN_USERNAME=admin ADMIN_PASSWORD="$PASSWORD" \
	DEMO_USERNAME=demo DEMO_PASSWORD="$PASSWORD" \
	ARTIFACTS_DIR="$ROOT/web/e2e/artifacts" \
	E2E_OIDC="$E2E_OIDC" \
	STRIPE_URL="$STRIPE_URL" \
	E2E_ONLY="${1:-${E2E_ONLY:-}}" \
	node web/e2e/run.mjs
