#!/usr/bin/env bash
# ensure-services.sh [postgres] [redis] [nats] [docker] [s3] [hydra] [mailpit] [stripe-mock] [sshd] [promtool] [chromium]
#
# Makes sure the named local services answer on their standard loopback
# ports, starting them when they are down and installing them from Debian's
# packages when they are missing. With no argument it ensures the three
# services. `make run` needs only PostgreSQL; `make test` needs all three.
# The tools are installed when missing (one `apt-get update` for the lot);
# `.ci/run` asks for them.
#
#   postgres  127.0.0.1:5432, user postgres without a password (trust on loopback)
#   redis     127.0.0.1:6379, nothing kept on disk
#   nats      127.0.0.1:4222, JetStream on, store in /var/lib/nats-server
#   docker    a private Docker Engine for the docker runtime's tests (Debian's
#             docker.io and busybox-static, installed when missing), on its own
#             unix socket $GPUAAS_DOCKER_DIR/docker.sock (default dir
#             /var/lib/gpuaas-ci-docker), never the host's /var/run/docker.sock;
#             with a stand-in NVIDIA hook so that device requests by GPU UUID
#             are accepted, and the offline test image ci/busybox:latest. It
#             prints GPUAAS_TEST_DOCKER_HOST=unix://…, which `make test` exports.
#   s3        an S3-compatible server for the storage tests: Versity's S3
#             gateway (versitygw, Apache-2.0) over a posix directory, built
#             once with `go install` into $GPUAAS_S3_DIR/bin (default dir
#             /var/lib/gpuaas-ci-s3), keyed by its version, and started on
#             127.0.0.1:7480 with the fixed test credentials gpuaas-test /
#             gpuaas-test-secret. It prints
#             GPUAAS_TEST_S3_ENDPOINT=http://127.0.0.1:7480, which `make
#             test` exports.
#   hydra     Ory Hydra v2.3.0 for the OIDC tests, built once from the Go
#             module proxy into $GPUAAS_HYDRA_DIR/bin (default dir
#             /var/lib/gpuaas-ci-hydra), keyed by its version; not started
#             (each test starts its own). It prints GPUAAS_TEST_HYDRA=<binary>,
#             which `make test` exports.
#   mailpit   a real SMTP server for the mail tests: mailpit (MIT), built once
#             with `go install` into $GPUAAS_MAILPIT_DIR/bin (default dir
#             /var/lib/gpuaas-ci-mailpit), keyed by its version, and started
#             with SMTP on 127.0.0.1:1025 and its HTTP API on 127.0.0.1:8025,
#             messages kept in memory. It prints
#             GPUAAS_TEST_SMTP=smtp://127.0.0.1:1025 and
#             GPUAAS_TEST_MAILPIT_API=http://127.0.0.1:8025, which `make
#             test` exports.
#   stripe-mock
#             Stripe's stripe-mock v0.197.0 (MIT), built once with `go install`
#             into $GPUAAS_STRIPE_MOCK_DIR/bin (default dir
#             /var/lib/gpuaas-ci-stripe-mock), keyed by its version, and
#             started on 127.0.0.1:12111 (HTTP only). The payments tests send
#             every Stripe request our client makes to it as well: it checks
#             them against Stripe's OpenAPI. It prints
#             GPUAAS_TEST_STRIPE_MOCK=http://127.0.0.1:12111, which `make test`
#             exports.
#   sshd      /usr/sbin/sshd for the agent's real-sshd test (it skips without;
#             a failed install only warns)
#   promtool  Debian's prometheus package, for scripts/check-deploy.sh
#   chromium  /usr/bin/chromium and Liberation fonts, for the console's journeys
set -euo pipefail

log() { printf 'ensure-services: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi
as_root() {
	if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
		$SUDO "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

apt_updated=""
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "cannot install $*: no apt-get here; install it by hand"
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	log "installing $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# tcp_says HOST PORT SEND EXPECT: connect, send SEND (may be empty), and
# succeed when the first line back starts with EXPECT. Needs no client tools.
tcp_says() {
	local host=$1 port=$2 send=$3 expect=$4 line=""
	( exec 3<>"/dev/tcp/$host/$port" || exit 1
	  if [ -n "$send" ]; then printf '%b' "$send" >&3; fi
	  IFS= read -r -t 2 line <&3 || exit 1
	  case "$line" in "$expect"*) exit 0 ;; *) exit 1 ;; esac
	) 2>/dev/null
}

# tcp_open HOST PORT: succeed when something accepts a connection.
tcp_open() { ( exec 3<>"/dev/tcp/$1/$2" ) 2>/dev/null; }

# wait_for NAME CHECK...: poll CHECK for up to 60 s.
wait_for() {
	local name=$1; shift
	for _ in $(seq 1 120); do
		if "$@"; then log "$name is up"; return 0; fi
		sleep 0.5
	done
	die "$name did not come up within 60s"
}

pg_up() {
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h 127.0.0.1 -p 5432
	else
		tcp_open 127.0.0.1 5432 # no client tools yet: an open port will do
	fi
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

# pg_trust_loopback lets the postgres user in over 127.0.0.1 and ::1
# without a password, as the dev and test defaults expect. Only done for a
# cluster this script installed: an existing setup is left alone.
pg_trust_loopback() {
	local hba
	hba="/etc/postgresql/$(pg_version)/main/pg_hba.conf"
	[ -f "$hba" ] || return 0
	log "allowing passwordless loopback connections in $hba (fresh dev install)"
	as_root sed -i -E \
		-e 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+)[a-z0-9-]+#\1trust#' \
		-e 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+::1/128[[:space:]]+)[a-z0-9-]+#\1trust#' \
		"$hba"
}

ensure_postgres() {
	if pg_up; then log "postgres is up"; return 0; fi
	local installed=""
	if [ -z "$(pg_version)" ]; then
		apt_install postgresql
		installed=1
	fi
	[ -n "$(pg_version)" ] || die "postgres is installed but /etc/postgresql has no cluster"
	if [ -n "$installed" ]; then pg_trust_loopback; fi
	log "starting postgres $(pg_version)"
	as_root pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main start || true
	if [ -n "$installed" ]; then
		as_root pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main reload || true
	fi
	wait_for postgres pg_up
}

redis_up() { tcp_says 127.0.0.1 6379 'PING\r\n' '+PONG'; }

ensure_redis() {
	if redis_up; then log "redis is up"; return 0; fi
	if ! command -v redis-server >/dev/null 2>&1; then apt_install redis-server; fi
	log "starting redis"
	as_root mkdir -p /var/lib/redis /var/log/redis
	as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for redis redis_up
}

nats_up() { tcp_says 127.0.0.1 4222 "" "INFO"; }

ensure_nats() {
	if nats_up; then log "nats is up"; return 0; fi
	if [ ! -x /usr/sbin/nats-server ]; then apt_install nats-server; fi
	log "starting nats"
	as_root mkdir -p /var/lib/nats-server
	as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
		-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
	wait_for nats nats_up
}

# The S3 test server: versitygw's posix backend (with its metadata in
# xattrs: multipart uploads need them). The binary is built from
# the Go module proxy once per version; the data directory is scratch.
S3_DIR=${GPUAAS_S3_DIR:-/var/lib/gpuaas-ci-s3}
S3_VERSION=v1.8.0
S3_ADDR=127.0.0.1:7480
S3_ACCESS=gpuaas-test
S3_SECRET=gpuaas-test-secret

s3_up() { tcp_open 127.0.0.1 7480; }

ensure_s3() {
	local bin="$S3_DIR/bin/versitygw-$S3_VERSION"
	as_root mkdir -p "$S3_DIR/bin" "$S3_DIR/data"
	(
		flock -w 600 9 || die "s3: could not take $S3_DIR/lock"
		if [ ! -x "$bin" ]; then
			local go=${GO:-go}
			command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go
			local tmp
			tmp=$(mktemp -d)
			log "building versitygw $S3_VERSION (once; cached in $bin)"
			GOBIN="$tmp" GOFLAGS=-buildvcs=false "$go" install "github.com/versity/versitygw/cmd/versitygw@$S3_VERSION" ||
				die "could not build versitygw $S3_VERSION"
			as_root install -m 0755 "$tmp/versitygw" "$bin"
			rm -rf "$tmp"
		fi
		if s3_up; then log "s3 is up"; else
			log "starting versitygw on $S3_ADDR (log $S3_DIR/versitygw.log)"
			as_root env ROOT_ACCESS_KEY="$S3_ACCESS" ROOT_SECRET_KEY="$S3_SECRET" setsid "$bin" --port "$S3_ADDR" --quiet \
				posix "$S3_DIR/data" </dev/null >"$S3_DIR/versitygw.log" 2>&1 9>&- &
			wait_for s3 s3_up
		fi
	) 9>"$S3_DIR/lock"
	echo "GPUAAS_TEST_S3_ENDPOINT=http://$S3_ADDR"
}

# mailpit for the mail tests: a real SMTP server whose HTTP API lets a test
# read back what arrived (GET /api/v1/messages).
MAILPIT_DIR=${GPUAAS_MAILPIT_DIR:-/var/lib/gpuaas-ci-mailpit}
MAILPIT_VERSION=v1.33.1
MAILPIT_SMTP=127.0.0.1:1025
MAILPIT_HTTP=127.0.0.1:8025
mailpit_up() { tcp_says "${MAILPIT_SMTP%:*}" "${MAILPIT_SMTP#*:}" "" "220" && tcp_open "${MAILPIT_HTTP%:*}" "${MAILPIT_HTTP#*:}"; }

ensure_mailpit() {
	local bin="$MAILPIT_DIR/bin/mailpit-$MAILPIT_VERSION"
	as_root mkdir -p "$MAILPIT_DIR/bin"
	(
		flock -w 900 9 || die "mailpit: could not take $MAILPIT_DIR/lock"
		if [ ! -x "$bin" ]; then
			local go=${GO:-go}
			command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go
			local tmp
			tmp=$(mktemp -d)
			log "building mailpit $MAILPIT_VERSION (once; cached in $bin)"
			GOBIN="$tmp" GOFLAGS=-buildvcs=false "$go" install "github.com/axllent/mailpit@$MAILPIT_VERSION" ||
				die "could not build mailpit $MAILPIT_VERSION"
			as_root install -m 0755 "$tmp/mailpit" "$bin"
			rm -rf "$tmp"
		fi
		if mailpit_up; then log "mailpit is up"; else
			log "starting mailpit on $MAILPIT_SMTP (SMTP) and $MAILPIT_HTTP (HTTP) (log $MAILPIT_DIR/mailpit.log)"
			as_root setsid "$bin" --smtp "$MAILPIT_SMTP" --listen "$MAILPIT_HTTP" --smtp-auth-accept-any --smtp-auth-allow-insecure \
				--max 5000 </dev/null >"$MAILPIT_DIR/mailpit.log" 2>&1 9>&- &
			wait_for mailpit mailpit_up
		fi
	) 9>"$MAILPIT_DIR/lock"
	echo "GPUAAS_TEST_SMTP=smtp://$MAILPIT_SMTP"
	echo "GPUAAS_TEST_MAILPIT_API=http://$MAILPIT_HTTP"
}

# stripe-mock for the payments tests (../shared/recipes/stripe-api.md §9):
# stateless, it only checks requests against Stripe's OpenAPI. Built once per
# version from the Go module proxy.
STRIPE_MOCK_DIR=${GPUAAS_STRIPE_MOCK_DIR:-/var/lib/gpuaas-ci-stripe-mock}
STRIPE_MOCK_VERSION=v0.197.0
STRIPE_MOCK_PORT=12111

stripe_mock_up() { curl -fsS --max-time 2 -o /dev/null -H 'Authorization: Bearer sk_test_ping' "http://127.0.0.1:$STRIPE_MOCK_PORT/v1/customers/cus_ping" 2>/dev/null; }

ensure_stripe_mock() {
	local bin="$STRIPE_MOCK_DIR/bin/stripe-mock-$STRIPE_MOCK_VERSION"
	as_root mkdir -p "$STRIPE_MOCK_DIR/bin"
	(
		flock -w 600 9 || die "stripe-mock: could not take $STRIPE_MOCK_DIR/lock"
		if [ ! -x "$bin" ]; then
			local go=${GO:-go}
			command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go
			local tmp
			tmp=$(mktemp -d)
			log "building stripe-mock $STRIPE_MOCK_VERSION (once; cached in $bin)"
			GOBIN="$tmp" GOFLAGS=-buildvcs=false "$go" install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" ||
				die "could not build stripe-mock $STRIPE_MOCK_VERSION"
			as_root install -m 0755 "$tmp/stripe-mock" "$bin"
			rm -rf "$tmp"
		fi
		if stripe_mock_up; then log "stripe-mock is up"; else
			log "starting stripe-mock on 127.0.0.1:$STRIPE_MOCK_PORT (log $STRIPE_MOCK_DIR/stripe-mock.log)"
			as_root setsid "$bin" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" \
				</dev/null >"$STRIPE_MOCK_DIR/stripe-mock.log" 2>&1 9>&- &
			wait_for stripe-mock stripe_mock_up
		fi
	) 9>"$STRIPE_MOCK_DIR/lock"
	echo "GPUAAS_TEST_STRIPE_MOCK=http://127.0.0.1:$STRIPE_MOCK_PORT"
}

# Ory Hydra for the OIDC tests (../shared/recipes/oidc-peer.md): built once
# per version from the Go module proxy through a wrapper module into
# $GPUAAS_HYDRA_DIR/bin (default dir /var/lib/gpuaas-ci-hydra). Nothing is
# started here: each test package starts its own Hydra on free loopback
# ports with an in-memory store. It prints GPUAAS_TEST_HYDRA=<binary>.
HYDRA_DIR=${GPUAAS_HYDRA_DIR:-/var/lib/gpuaas-ci-hydra}
HYDRA_VERSION=v2.3.0
HYDRA_POP=github.com/ory/pop/v6@v6.2.1-0.20241121111754-e5dfc0f3344b

ensure_hydra() {
	local bin="$HYDRA_DIR/bin/hydra-$HYDRA_VERSION"
	as_root mkdir -p "$HYDRA_DIR/bin"
	(
		flock -w 900 9 || die "hydra: could not take $HYDRA_DIR/lock"
		if [ ! -x "$bin" ]; then
			local go=${GO:-go}
			command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go
			local tmp
			tmp=$(mktemp -d)
			log "building hydra $HYDRA_VERSION (once; cached in $bin)"
			(cd "$tmp" && "$go" mod init hydrabuild >/dev/null 2>&1 &&
				"$go" mod edit -replace "github.com/gobuffalo/pop/v6=$HYDRA_POP" &&
				"$go" get -tool "github.com/ory/hydra/v2@$HYDRA_VERSION" &&
				GOFLAGS=-buildvcs=false "$go" build -tags sqlite,sqlite_omit_load_extension -o hydra github.com/ory/hydra/v2) ||
				die "could not build hydra $HYDRA_VERSION"
			as_root install -m 0755 "$tmp/hydra" "$bin"
			rm -rf "$tmp"
		fi
		log "hydra is built"
	) 9>"$HYDRA_DIR/lock"
	echo "GPUAAS_TEST_HYDRA=$bin"
}

# The private Docker Engine, as ../shared/recipes/ci-docker.sh starts it
# (FAKE_NVIDIA_HOOK=1): data and exec roots under its own folder, its own
# socket, no iptables/NAT/forwarding (published ports stay on 127.0.0.1),
# and a bridge on a subnet of its own. One engine serves every checkout on
# the machine; a lock keeps two runs from starting two.
DOCKER_DIR=${GPUAAS_DOCKER_DIR:-/var/lib/gpuaas-ci-docker}
DOCKER_SOCK=$DOCKER_DIR/docker.sock
DOCKER_CLI=/usr/bin/docker # Debian's client, the daemon's own version

docker_up() { curl -fsS --max-time 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping >/dev/null 2>&1; }
dk() { as_root env DOCKER_HOST="unix://$DOCKER_SOCK" "$DOCKER_CLI" "$@"; }

busybox_static() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }

ensure_docker() {
	if [ ! -x /usr/sbin/dockerd ] || [ ! -x "$DOCKER_CLI" ] || ! busybox_static || ! command -v curl >/dev/null 2>&1; then
		# Debian's policy-rc.d keeps the package from starting the system's
		# own dockerd; ours is started below.
		apt_install docker.io busybox-static curl
	fi
	as_root mkdir -p "$DOCKER_DIR/data" "$DOCKER_DIR/exec" "$DOCKER_DIR/bin"
	(
		flock -w 120 9 || die "docker: could not take $DOCKER_DIR/lock"
		if docker_up; then log "docker is up"; else start_docker; fi
		ensure_busybox_image
		ensure_jupyter_image
	) 9>"$DOCKER_DIR/lock"
	echo "GPUAAS_TEST_DOCKER_HOST=unix://$DOCKER_SOCK"
}

start_docker() {
	# A stand-in for the NVIDIA container toolkit's hook, first on dockerd's
	# PATH: dockerd then registers its nvidia device driver and accepts
	# device requests by GPU UUID, minus the devices themselves.
	printf '#!/bin/sh\n# stand-in for the NVIDIA container toolkit hook: accept and do nothing\ncat >/dev/null\nexit 0\n' |
		as_root tee "$DOCKER_DIR/bin/nvidia-container-runtime-hook" >/dev/null
	as_root chmod 0755 "$DOCKER_DIR/bin/nvidia-container-runtime-hook"
	# A stale pid file or bridge from a killed engine blocks a new one.
	as_root rm -f "$DOCKER_DIR/dockerd.pid" "$DOCKER_SOCK"
	log "starting dockerd on $DOCKER_SOCK (log $DOCKER_DIR/dockerd.log)"
	as_root env PATH="$DOCKER_DIR/bin:$PATH" setsid /usr/sbin/dockerd \
		--data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" --pidfile "$DOCKER_DIR/dockerd.pid" \
		-H "unix://$DOCKER_SOCK" --storage-driver=overlay2 \
		--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
		--ip=127.0.0.1 --bip=10.213.0.1/24 </dev/null >"$DOCKER_DIR/dockerd.log" 2>&1 9>&- &
	for _ in $(seq 1 600); do
		if docker_up; then log "docker is up"; return 0; fi
		sleep 0.1
	done
	tail -n 20 "$DOCKER_DIR/dockerd.log" >&2 || true
	die "dockerd did not come up within 60s"
}

# ensure_busybox_image imports ci/busybox:latest from the static busybox:
# a real image built with no registry in reach.
ensure_busybox_image() {
	if dk image inspect ci/busybox:latest >/dev/null 2>&1; then log "image ci/busybox:latest is there"; return 0; fi
	local r
	r=$(mktemp -d)
	mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/www"
	cp /bin/busybox "$r/bin/"
	for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	echo ok >"$r/www/index.html"
	chmod 1777 "$r/tmp"
	log "building image ci/busybox:latest"
	tar -C "$r" -c . | dk import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - ci/busybox:latest >/dev/null
	rm -rf "$r"
}

# ensure_jupyter_image imports ci/jupyter:latest: a Debian rootfs with the
# classic Notebook (python3-notebook 6.4, not JupyterLab), made with
# debootstrap from the Debian mirror apt already uses (about 2 minutes and
# 570 MB, once; the rootfs is kept for the next import). The Jupyter
# end-to-end test runs it through the app proxy. A failure here only
# warns: that test then skips, except in CI, where it fails.
ensure_jupyter_image() {
	if dk image inspect ci/jupyter:latest >/dev/null 2>&1; then log "image ci/jupyter:latest is there"; return 0; fi
	local root="$DOCKER_DIR/jupyter-rootfs" mirror
	if [ ! -x "$root/usr/bin/python3" ] || [ ! -d "$root/usr/lib/python3/dist-packages/notebook" ]; then
		command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap || { log "WARNING: no debootstrap; no ci/jupyter image"; return 0; }
		mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
		log "building the Jupyter rootfs with debootstrap (once; a few minutes)"
		as_root rm -rf "$root"
		if ! as_root debootstrap --variant=minbase --include=python3-notebook,python3-cffi-backend,libboost-regex1.74.0 \
			bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >"$DOCKER_DIR/debootstrap.log" 2>&1; then
			log "WARNING: debootstrap failed (see $DOCKER_DIR/debootstrap.log); no ci/jupyter image"
			return 0
		fi
	fi
	log "importing image ci/jupyter:latest"
	as_root tar -C "$root" -c . | dk import -c 'ENV LANG=C.UTF-8' -c 'ENV HOME=/root' -c 'CMD ["/bin/sh"]' - ci/jupyter:latest >/dev/null
}

# ensure_tool NAME CHECK PACKAGE...: install PACKAGE... unless CHECK succeeds.
ensure_tool() {
	local name=$1 check=$2; shift 2
	if eval "$check"; then log "$name is installed"; return 0; fi
	apt_install "$@"
	eval "$check" || die "$name is still missing after installing $*"
}

services=("$@")
if [ ${#services[@]} -eq 0 ]; then services=(postgres redis nats); fi
for s in "${services[@]}"; do
	case "$s" in
		postgres) ensure_postgres ;;
		redis) ensure_redis ;;
		nats) ensure_nats ;;
		docker) ensure_docker ;;
		s3) ensure_s3 ;;
		hydra) ensure_hydra ;;
		mailpit) ensure_mailpit ;;
		stripe-mock) ensure_stripe_mock ;;
		# In a subshell so that a failed install only warns; it inherits
		# the apt-get update of any tool before it.
		sshd) (ensure_tool sshd '[ -x /usr/sbin/sshd ]' openssh-server) ||
			log "could not install openssh-server; the sshd test will skip" ;;
		promtool) ensure_tool promtool 'command -v promtool >/dev/null 2>&1' --no-install-recommends prometheus ;;
		chromium) ensure_tool chromium '[ -x /usr/bin/chromium ]' --no-install-recommends chromium fonts-liberation ;;
		*) die "unknown service $s (want postgres, redis, nats, docker, s3, hydra, mailpit, stripe-mock, sshd, promtool or chromium)" ;;
	esac
done
