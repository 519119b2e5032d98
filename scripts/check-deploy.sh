#!/usr/bin/env bash
# Validates the monitoring files shipped in deploy/: the Prometheus alerting
# rules with the real promtool (Debian's `prometheus` package) and the
# Grafana dashboard as JSON. Run by .ci/run; run it by hand after editing
# either file.
set -euo pipefail
cd "$(dirname "$0")/.."

rules=deploy/prometheus/alerts.yml
dashboard=deploy/grafana/gpuaas.json

if ! command -v promtool >/dev/null 2>&1; then
	echo "check-deploy: promtool not found; install it with: apt-get install -y prometheus" >&2
	exit 1
fi
promtool check rules "$rules"

if command -v jq >/dev/null 2>&1; then
	jq -e '.title and (.panels | length > 0) and .schemaVersion' "$dashboard" >/dev/null
else
	python3 - "$dashboard" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("title") and d.get("panels") and d.get("schemaVersion"), "dashboard lacks title, panels or schemaVersion"
PY
fi
echo "check-deploy: $dashboard is valid JSON"
