#!/usr/bin/env bash
# The packages' version: a release tag vX.Y.Z as X.Y.Z, else
# 0.1.0~git<commits>.<short hash> (so later commits sort later, and any
# release sorts after its development builds). A tree with changes gets
# a +dirty suffix.
set -euo pipefail
cd "$(dirname "$0")/.."
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
	v=${tag#v}
else
	v="0.1.0~git$(git rev-list --count HEAD).$(git rev-parse --short=8 HEAD)"
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then v="$v+dirty"; fi
echo "$v"
