#!/usr/bin/env bash
# make bench: the platform's figures next to same-run baselines on this machine.
#   - pgbench -S (select-only) and -N (simple writes) on the same Postgres: what the database alone does;
#   - a bare net/http handler through the same load generator: the HTTP floor.
# Each figure is the median of $RUNS runs; ratios are ours / baseline. The
# create ratio is the median of per-pair ratios: each create run is paired
# with a pgbench -N run just before it, so a machine whose speed drifts over
# the minutes of the run (a shared VM) moves both sides of a pair alike.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECS:-5}
CREATES=${CREATES:-2000}
PGURL=${GPUAAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export PATH=/usr/local/go/bin:$PATH

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }
pick() { awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($i == u) print $(i-1)}'; } # unit: the figure before it on each result line

db=gpuaas_bench_pgbench
psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null
psql "$PGURL" -qAtc "CREATE DATABASE $db" >/dev/null
trap 'psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
benchurl=${PGURL%/*}/$db?sslmode=disable
pgbench -i -s 10 -q "$benchurl" >/dev/null 2>&1
pgtps() { pgbench "$1" -c 8 -j 2 -T "$SECS" "$benchurl" 2>/dev/null | awk '/^tps/ {print $3; exit}'; }
sel=()
for _ in $(seq "$RUNS"); do sel+=("$(pgtps -S)"); done
pg_s=$(printf "%s\n" "${sel[@]}" | median | xargs printf "%.0f")

out=$(mktemp)
trap 'rm -f "$out" "$out.test" "$out.run"; psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
go test -run '^$' -bench 'BenchmarkAPI|BenchmarkHTTPBaseline' -benchtime "${SECS}s" -count "$RUNS" ./internal/server/ | tee "$out" >&2
go test -c -o "$out.test" ./internal/server/
# Each pair's create run is followed by one with the process in the api
# role alone (--roles api): no outbox relay, provisioner or consumers
# beside it, as on an API replica whose workers run elsewhere. Its ratio
# is what the create path itself costs; the difference to the first is
# what the lifecycle running beside it takes from the same CPUs.
createrun() { # roles (empty: all) -> creates/s; the full stack's figures also go to $out
  (cd internal/server && GPUAAS_BENCH_ROLES=$1 "$out.test" -test.run '^$' -test.bench 'BenchmarkAllocationCreates' \
    -test.benchtime "${CREATES}x") >"$out.run"
  cat "$out.run" >&2
  if [ -z "$1" ]; then cat "$out.run" >>"$out"; fi
  pick creates/s <"$out.run"
}
wr=(); pairs=(); apicreates=(); apipairs=()
for _ in $(seq "$RUNS"); do
  n=$(pgtps -N)
  c=$(createrun "")
  r=$(ratio "$c" "$n")
  a=$(createrun api)
  ar=$(ratio "$a" "$n")
  wr+=("$n"); pairs+=("$r"); apicreates+=("$a"); apipairs+=("$ar")
  echo "pair: pgbench -N $n tps, creates $c/s (ratio $r), api role alone $a/s (ratio $ar)" >&2
done
pg_n=$(printf "%s\n" "${wr[@]}" | median | xargs printf "%.0f")
create_ratio=$(printf "%s\n" "${pairs[@]}" | median | xargs printf "%.2f")
api_creates=$(printf "%s\n" "${apicreates[@]}" | median)
api_ratio=$(printf "%s\n" "${apipairs[@]}" | median | xargs printf "%.2f")

# Result lines, each prefixed with its benchmark's name (a benchmark that
# logs gets its figures on a later line than its name).
results() { awk '/^Benchmark/ {name=$1} /ns\/op/ {if ($1 ~ /^Benchmark/) print; else print name, $0}' "$out"; }
metric() { # benchmark-name unit -> median
  results | grep "^$1-" | pick "$2" | median
}
creates=$(metric BenchmarkAllocationCreates creates/s)
half=$(awk -v c="$creates" 'BEGIN{printf "%d", c/2}')
GPUAAS_BENCH_RATE=$half go test -run '^$' -bench 'BenchmarkRequestedToActive' -benchtime "$((half * SECS))x" -count 1 ./internal/server/ | tee -a "$out" >&2

base=$(metric BenchmarkHTTPBaseline req/s)
row() { printf '%-34s %10s %9s %9s %10s %10s %10s\n' "$@"; }
echo
row "figure (median of $RUNS)" "per s" "p50 ms" "p99 ms" "÷pgbench-S" "÷pgbench-N" "÷bare HTTP"
row "pgbench -S -c8 (baseline)" "$pg_s" - - 1.00 - -
row "pgbench -N -c8 (baseline)" "$pg_n" - - - 1.00 -
row "bare net/http (baseline)" "$base" "$(metric BenchmarkHTTPBaseline p50_ms)" "$(metric BenchmarkHTTPBaseline p99_ms)" "$(ratio "$base" "$pg_s")" - 1.00
for b in BenchmarkAPIMe BenchmarkAPIListSKUs; do
  rps=$(metric $b req/s)
  row "GET ${b#BenchmarkAPI}" "$rps" "$(metric $b p50_ms)" "$(metric $b p99_ms)" "$(ratio "$rps" "$pg_s")" - "$(ratio "$rps" "$base")"
done
row "POST /api/v1/allocations" "$creates" "$(metric BenchmarkAllocationCreates p50_ms)" "$(metric BenchmarkAllocationCreates p99_ms)" - "$create_ratio" -
echo "  (per create, counted, not timed: $(metric BenchmarkAllocationCreates redis_trips/create) Redis round trips, $(metric BenchmarkAllocationCreates placement_misses/create) placement tries that found a node short, $(metric BenchmarkAllocationCreates nats_msgs/create) NATS messages)"
echo "  (÷pgbench-N for creates: median of the per-pair ratios $(printf '%s ' "${pairs[@]}")- each create run against the pgbench -N run just before it)"
row "  the same, api role alone" "$api_creates" - - - "$api_ratio" -
echo "  (--roles api: no relay, provisioner or consumers in the process; pairs $(printf '%s ' "${apipairs[@]}")- the gap to the row above is the lifecycle's share of the same CPUs)"
echo
echo "At half the create maximum ($half/s offered, sim delay 0):"
echo "  requested→active  p50 $(metric BenchmarkRequestedToActive active_p50_ms) ms  p99 $(metric BenchmarkRequestedToActive active_p99_ms) ms  (target p99 ≤ 1000)"
echo "  outbox commit→publish lag  p50 $(metric BenchmarkRequestedToActive lag_p50_ms) ms  p99 $(metric BenchmarkRequestedToActive lag_p99_ms) ms  (target p99 < 1000)"
