# Sourced by scripts/web-*.sh: shared checks for the web console's toolchain.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"

web_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
web_die() { web_log "$*"; exit 1; }

# web_have_node: Node.js and npm are on PATH.
web_have_node() { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }

# web_deps installs web/node_modules with `npm ci` unless it already matches
# the lock file: npm writes node_modules/.package-lock.json on every install,
# so one newer than package-lock.json means the lock has not changed since.
# (package.json alone does not matter: npm ci refuses a lock out of step with it.)
web_deps() {
	[ -f "$WEB/package-lock.json" ] || web_die "web/package-lock.json is missing"
	local hidden="$WEB/node_modules/.package-lock.json"
	if [ -f "$hidden" ] && [ "$hidden" -nt "$WEB/package-lock.json" ]; then
		web_log "web/node_modules matches package-lock.json; skipping npm ci"
		return 0
	fi
	web_log "npm ci in web/"
	(cd "$WEB" && npm ci --no-audit --no-fund)
}

# web_build runs `npm run build`, which writes web/dist (embedded by
# web/embed.go). With a stale check it skips when web/dist/index.html is newer
# than every source file of the console and than api/openapi.yaml.
web_build() {
	local mode="${1:-always}"
	if [ "$mode" = if-stale ] && [ -f "$WEB/dist/index.html" ]; then
		local newer
		newer="$(find "$WEB" "$ROOT/api/openapi.yaml" \
			\( -path "$WEB/node_modules" -o -path "$WEB/dist" -o -path "$WEB/e2e" \) -prune -o \
			-type f -newer "$WEB/dist/index.html" -print -quit)"
		if [ -z "$newer" ]; then
			web_log "web/dist is newer than the console's sources; skipping the build"
			return 0
		fi
	fi
	web_log "npm run build in web/"
	(cd "$WEB" && npm run build)
	[ -f "$WEB/dist/index.html" ] || web_die "npm run build did not write web/dist/index.html"
}
