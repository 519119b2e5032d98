#!/usr/bin/env bash
# make bench: the API's figures next to same-run baselines on this machine.
#   - pgbench -S (select-only) on the same Postgres: what the database alone answers per second;
#   - a bare net/http handler through the same load generator: the HTTP floor.
# Each figure is the median of $RUNS runs; ratios are ours / baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECS:-5}
PGURL=${GPUAAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export PATH=/usr/local/go/bin:$PATH

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

db=gpuaas_bench_pgbench
psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null
psql "$PGURL" -qAtc "CREATE DATABASE $db" >/dev/null
trap 'psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
benchurl=${PGURL%/*}/$db?sslmode=disable
pgbench -i -s 10 -q "$benchurl" >/dev/null 2>&1
pg_tps=()
for _ in $(seq "$RUNS"); do
  pg_tps+=("$(pgbench -S -c 8 -j 2 -T "$SECS" "$benchurl" 2>/dev/null | awk '/^tps/ {print $3; exit}')")
done
pg=$(printf '%s\n' "${pg_tps[@]}" | median)

out=$(mktemp)
go test -run '^$' -bench 'BenchmarkAPI|BenchmarkHTTPBaseline' -benchtime "${SECS}s" -count "$RUNS" ./internal/server/ | tee "$out" >&2

# Result lines, each prefixed with its benchmark's name (a benchmark that
# logs gets its figures on a later line than its name).
results=$(awk '/^Benchmark/ {name=$1} /ns\/op/ {if ($1 ~ /^Benchmark/) print; else print name, $0}' "$out")
metric() { # benchmark-name unit -> median
  grep "^$1-" <<<"$results" | awk -v u="$2" '{for (i=2;i<=NF;i++) if ($i==u) print $(i-1)}' | median
}
base=$(metric BenchmarkHTTPBaseline req/s)
printf '\n%-28s %12s %9s %9s %14s %14s\n' "figure (median of $RUNS)" "req/s" "p50 ms" "p99 ms" "÷ pgbench -S" "÷ bare HTTP"
printf '%-28s %12.0f %9s %9s %14s %14s\n' "pgbench -S (baseline)" "$pg" "-" "-" "1.00" "-"
printf '%-28s %12.0f %9s %9s %14s %14s\n' "bare net/http (baseline)" "$base" "$(metric BenchmarkHTTPBaseline p50_ms)" "$(metric BenchmarkHTTPBaseline p99_ms)" "$(awk -v a="$base" -v b="$pg" 'BEGIN{printf "%.2f", a/b}')" "1.00"
for b in BenchmarkAPIMe BenchmarkAPIListSKUs; do
  rps=$(metric $b req/s)
  printf '%-28s %12.0f %9s %9s %14s %14s\n' "$b" "$rps" "$(metric $b p50_ms)" "$(metric $b p99_ms)" \
    "$(awk -v a="$rps" -v b="$pg" 'BEGIN{printf "%.2f", a/b}')" "$(awk -v a="$rps" -v b="$base" 'BEGIN{printf "%.2f", a/b}')"
done
rm -f "$out"
