#!/usr/bin/env bash
# make test-package: the packages as an operator meets them, on this
# machine (root; Debian's dpkg, lintian and systemd-analyze, installed when
# missing). It builds a previous and a current build (amd64 or arm64, this
# machine's), then:
#   - installs the previous build: the user, the master key, file modes;
#   - systemd-analyze verify on both units; lintian: no errors;
#   - starts the installed /usr/bin/gpuaas as the gpuaas user with the
#     installed /etc/gpuaas/server.env (plus a test database, NATS
#     namespace and certificate) and reaches /readyz over TLS;
#   - upgrades to the current build: the edited environment file and the
#     master key are kept, and the server still starts;
#   - removes, then purges: /etc/gpuaas/master.key, the edited environment
#     file (until purge) and the data stay.
# It leaves the machine as it found it (packages, user, /etc/gpuaas).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || export PATH=/usr/local/go/bin:$PATH
log() { echo "package-test: $*"; }
die() { echo "package-test: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	log "skipped: needs root (dpkg -i)"
	[ "${CI:-}" = true ] && die "CI runs as root"
	exit 0
fi
need=()
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg-dev)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
for p in gpuaas-server gpuaas-agent; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		die "$p is already installed here; this test installs and removes it"
	fi
done
[ -e /etc/gpuaas ] && die "/etc/gpuaas exists; this test would change it"

arch=$(dpkg --print-architecture)
work=$(mktemp -d)
db="gpuaas_pkgtest_$$"
cleanup() {
	set +e
	[ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	dpkg --purge gpuaas-server gpuaas-agent >/dev/null 2>&1
	rm -rf /etc/gpuaas /var/lib/gpuaas /var/lib/gpuaas-agent "$work"
	getent passwd gpuaas >/dev/null && deluser --quiet --system gpuaas >/dev/null 2>&1
	getent group gpuaas >/dev/null && delgroup --quiet --system gpuaas >/dev/null 2>&1
	psql -qX -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
}
trap cleanup EXIT

cur=$(scripts/package-version.sh)
prev="0.0.1~pkgtest"
log "building $prev and $cur for $arch"
DIST=$work/dist ARCH=$arch VERSION=$prev NO_WEB=${NO_WEB:-1} scripts/package.sh >"$work/build-prev.log" 2>&1 || { cat "$work/build-prev.log"; die "build $prev"; }
DIST=$work/dist ARCH=$arch VERSION=$cur NO_WEB=${NO_WEB:-1} scripts/package.sh >"$work/build-cur.log" 2>&1 || { cat "$work/build-cur.log"; die "build $cur"; }
deb() { echo "$work/dist/$1_$2_$arch.deb"; }
for f in "$(deb gpuaas-server "$prev")" "$(deb gpuaas-agent "$prev")" "$(deb gpuaas-server "$cur")" "$(deb gpuaas-agent "$cur")"; do
	[ -f "$f" ] || die "missing $f"
done

log "lintian"
lintian --fail-on error --suppress-tags-from-file /dev/null "$(deb gpuaas-server "$cur")" "$(deb gpuaas-agent "$cur")" >"$work/lintian.log" 2>&1 ||
	{ cat "$work/lintian.log"; die "lintian found errors"; }
grep -E '^[EW]:' "$work/lintian.log" | sed 's/^/  /' || true

log "install $prev"
dpkg -i "$(deb gpuaas-server "$prev")" "$(deb gpuaas-agent "$prev")" >"$work/install.log" 2>&1 || { cat "$work/install.log"; die "dpkg -i $prev"; }
getent passwd gpuaas >/dev/null || die "no gpuaas user"
[ "$(stat -c '%U:%G %a' /etc/gpuaas/master.key)" = "root:gpuaas 640" ] || die "master.key is $(stat -c '%U:%G %a' /etc/gpuaas/master.key)"
[ "$(stat -c '%U:%G %a' /etc/gpuaas/server.env)" = "root:gpuaas 640" ] || die "server.env is $(stat -c '%U:%G %a' /etc/gpuaas/server.env)"
[ "$(stat -c '%a' /etc/gpuaas/agent.env)" = 600 ] || die "agent.env is $(stat -c '%a' /etc/gpuaas/agent.env)"
[ -x /usr/bin/gpuaas ] && [ -x /usr/sbin/gpuaas-agent ] || die "binaries missing"
key_sum=$(sha256sum /etc/gpuaas/master.key)

log "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/gpuaas-server.service /lib/systemd/system/gpuaas-agent.service >"$work/verify.log" 2>&1 ||
	{ cat "$work/verify.log"; die "systemd-analyze verify"; }

# A test certificate for 127.0.0.1, readable by the service user.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout /etc/gpuaas/tls.key -out /etc/gpuaas/tls.crt >/dev/null 2>&1
chown root:gpuaas /etc/gpuaas/tls.key /etc/gpuaas/tls.crt
chmod 0640 /etc/gpuaas/tls.key /etc/gpuaas/tls.crt
psql -qX -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
datadir="$work/data"
install -d -o gpuaas -g gpuaas -m 0700 "$datadir"

# serve: the installed binary, as the service would run it (its user and
# its environment file), with the test's peers and certificate.
serve() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	runuser -u gpuaas -- env -i PATH=/usr/bin:/bin bash -c "set -a; . /etc/gpuaas/server.env; set +a
		export GPUAAS_DATABASE_URL='postgres://postgres@127.0.0.1:5432/$db?sslmode=disable' GPUAAS_LISTEN=127.0.0.1:$port \
			GPUAAS_NATS_NAMESPACE=pkgtest$$ GPUAAS_DATA_DIR='$datadir' \
			GPUAAS_TLS_CERT_FILE=/etc/gpuaas/tls.crt GPUAAS_TLS_KEY_FILE=/etc/gpuaas/tls.key
		exec /usr/bin/gpuaas server" >"$work/server.log" 2>&1 &
	srv_pid=$!
	for _ in $(seq 1 150); do
		if curl -fsS --cacert /etc/gpuaas/tls.crt "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
			log "/readyz over TLS answered ($1)"
			kill "$srv_pid"
			wait "$srv_pid" 2>/dev/null || true
			srv_pid=
			return 0
		fi
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.2
	done
	tail -n 30 "$work/server.log"
	die "the installed server did not answer /readyz over TLS ($1)"
}
serve "$prev"

log "upgrade to $cur"
echo "# edited by the operator" >>/etc/gpuaas/server.env
dpkg -i "$(deb gpuaas-server "$cur")" "$(deb gpuaas-agent "$cur")" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; die "dpkg -i $cur"; }
[ "$(dpkg-query -W -f='${Version}' gpuaas-server)" = "$cur" ] || die "gpuaas-server is $(dpkg-query -W -f='${Version}' gpuaas-server), want $cur"
grep -q '^# edited by the operator$' /etc/gpuaas/server.env || die "the upgrade replaced the edited server.env"
[ "$(sha256sum /etc/gpuaas/master.key)" = "$key_sum" ] || die "the upgrade changed the master key"
serve "$cur"

log "remove"
dpkg -r gpuaas-server gpuaas-agent >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; die "dpkg -r"; }
[ ! -e /usr/bin/gpuaas ] || die "/usr/bin/gpuaas is still there after remove"
grep -q '^# edited by the operator$' /etc/gpuaas/server.env || die "remove lost the edited server.env"
[ "$(sha256sum /etc/gpuaas/master.key)" = "$key_sum" ] || die "remove lost the master key"
[ -d "$datadir" ] || die "remove lost the data"
dpkg --purge gpuaas-server gpuaas-agent >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; die "dpkg --purge"; }
[ "$(sha256sum /etc/gpuaas/master.key)" = "$key_sum" ] || die "purge lost the master key"
log "ok: $prev -> $cur installs, serves TLS, upgrades and removes without losing data"
