#!/usr/bin/env bash
# make bench-profile: where one allocation create spends its CPU.
#   1. CPU per create by process (PostgreSQL, the gpuaas process with its
#      load generator, nats-server): the create benchmark runs at SMALL and
#      BIG sizes and the difference is divided by BIG-SMALL, so setup cancels
#      out and other load on the machine barely matters (it is CPU time of
#      these processes, not wall time).
#   2. When PostgreSQL has pg_stat_statements loaded (shared_preload_libraries),
#      each statement's calls and execution time per create.
#   3. The Go CPU profile's top functions during the BIG run.
#   4. CPU per allocation for its whole way to active (create, relay,
#      provisioner steps, consumers), paced at RATE/s so the lifecycle keeps
#      up: the create benchmark alone counts only what of the lifecycle
#      fits in its window.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
SMALL=${SMALL:-500}
BIG=${BIG:-3000}
RATE=${RATE:-300}
PGURL=${GPUAAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/server.test" ./internal/server/

hz=$(getconf CLK_TCK)
# CPU ticks of every postgres process, with what exited children left in the
# postmaster's account, and of nats-server.
pgticks() {
  local s=0 f
  for p in $(pgrep -x postgres); do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    s=$((s + f[13] + f[14] + f[15] + f[16]))
  done
  echo "$s"
}
natsticks() {
  local s=0 f
  for p in $(pgrep -x nats-server); do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    s=$((s + f[13] + f[14]))
  done
  echo "$s"
}
pss=$(psql "$PGURL" -qAtc "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'" 2>/dev/null || echo 0)
if [ "$pss" = 0 ] && psql "$PGURL" -qAtc "SHOW shared_preload_libraries" 2>/dev/null | grep -q pg_stat_statements; then
  psql "$PGURL" -qAtc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null && pss=1
fi

run() { # size profile? benchmark? -> "pg go nats" ticks
  local n=$1 prof=${2:-} bench=${3:-BenchmarkAllocationCreates}
  local p0 n0 p1 n1
  p0=$(pgticks) n0=$(natsticks)
  GPUAAS_BENCH_RATE=$RATE /usr/bin/env time -o "$work/time" -f "%U %S" "$work/server.test" -test.run '^$' \
    -test.bench "$bench" -test.benchtime "${n}x" ${prof:+-test.cpuprofile "$prof"} >"$work/out" 2>&1
  p1=$(pgticks) n1=$(natsticks)
  grep -h "^$bench" "$work/out" >&2
  echo "$((p1 - p0)) $(awk -v hz="$hz" '{printf "%d", ($1 + $2) * hz}' "$work/time") $((n1 - n0))"
}
perunit() { # what pg go nats(ticks) per d
  awk -v a="$2" -v b="$3" -v c="$4" -v d="$5" -v hz="$hz" -v what="$1" 'BEGIN {
    printf "%s\n  postgres %.2f   gpuaas+load generator %.2f   nats-server %.2f   total %.2f\n",
      what, a/d/hz*1000, b/d/hz*1000, c/d/hz*1000, (a+b+c)/d/hz*1000 }'
}

read -r a1 b1 c1 < <(run "$SMALL")
[ "$pss" = 1 ] && psql "$PGURL" -qAtc "SELECT pg_stat_statements_reset()" >/dev/null
read -r a2 b2 c2 < <(run "$BIG" "$work/cpu.prof")
d=$((BIG - SMALL))
echo
perunit "CPU per create (ms), marginal between $SMALL and $BIG creates:" $((a2 - a1)) $((b2 - b1)) $((c2 - c1)) "$d"

if [ "$pss" = 1 ]; then
  echo
  echo "Statements per create during the $BIG-create run (pg_stat_statements; exec ms includes lock waits):"
  psql "$PGURL" -P pager=off -c "
    SELECT round(calls::numeric / $BIG, 2) AS per_create,
           round((total_exec_time / $BIG)::numeric, 3) AS exec_ms_per_create,
           left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS statement
    FROM pg_stat_statements
    WHERE calls >= $BIG / 10 AND query NOT ILIKE '%pg_stat_statements%'
    ORDER BY total_exec_time DESC LIMIT 20"
else
  echo
  echo "(per-statement figures need pg_stat_statements in shared_preload_libraries)"
fi

echo
echo "Go CPU of the $BIG-create run by part (seconds of samples; parts overlap: pgx is inside the others):"
prof() { go tool pprof "$@" "$work/server.test" "$work/cpu.prof" 2>/dev/null; }
ign='argon2|NewUser|Login|benchFleet|seedInventory'
printf '  %-34s %s\n' total "$(prof -top -ignore "$ign" | awk '/Total samples/ {print $6; exit}')"
for part in 'HTTP requests=net/http.\(\*conn\).serve' 'event consumers=internal/consumer\.' \
  'outbox relay=outbox.\(\*Relay\).Run' 'garbage collector=gcBgMarkWorker' \
  'scheduler=findRunnable' 'pgx (database client)=jackc/pgx' 'redis client=redis/go-redis' \
  'encoding/json=encoding/json'; do
  printf '  %-34s %s\n' "${part%%=*}" "$(prof -top -cum -focus "${part#*=}" -ignore "$ign" | awk 'NR > 6 && $4 ~ /s$/ {print $4; exit}')"
done
echo
echo "Top functions (flat):"
prof -top -nodecount=20 -ignore "$ign" | sed -n '/flat%/,$p'

# The whole lifecycle, paced, last: the statements above stay the create
# run's.
read -r l1 m1 o1 < <(run "$SMALL" "" BenchmarkRequestedToActive)
read -r l2 m2 o2 < <(run "$BIG" "" BenchmarkRequestedToActive)
echo
perunit "CPU per allocation through to active (ms), paced at $RATE/s, marginal between $SMALL and $BIG:" \
  $((l2 - l1)) $((m2 - m1)) $((o2 - o1)) "$d"
