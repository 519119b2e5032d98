#!/usr/bin/env bash
# make package [ARCH=amd64|arm64] [VERSION=x.y.z]: the gpuaas-server and
# gpuaas-agent .deb packages, built with nfpm (a Go module, run at a pinned
# version) into dist/<package>_<version>_<arch>.deb. Without ARCH both
# amd64 and arm64 are built. The binary is static (CGO_ENABLED=0) with the
# web console embedded; a machine without Node.js cannot build the console,
# so the package build refuses (NO_WEB=1 builds without it, for tests).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || export PATH=/usr/local/go/bin:$PATH
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
arches=${ARCH:-amd64 arm64}
version=${VERSION:-$(scripts/package-version.sh)}
out=${DIST:-dist}

if [ -z "${NO_WEB:-}" ]; then
	command -v npm >/dev/null 2>&1 || { echo "package: Node.js is needed to build the web console (or NO_WEB=1)" >&2; exit 1; }
	scripts/web-build.sh
fi
mkdir -p "$out" build/package
for arch in $arches; do
	case "$arch" in amd64 | arm64) ;; *) echo "package: ARCH must be amd64 or arm64, got $arch" >&2; exit 1 ;; esac
	bin=build/package/$arch/gpuaas
	echo "package: building $bin ($version)"
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$bin" ./cmd/gpuaas
	for pkg in server agent; do
		# nfpm expands variables in some fields only: fill them in here.
		conf=build/package/$arch/nfpm-$pkg.yaml
		sed -e "s|\${VERSION}|$version|g" -e "s|\${ARCH}|$arch|g" -e "s|\${BIN}|$bin|g" "packaging/nfpm-$pkg.yaml" >"$conf"
		go run "$NFPM" package --config "$conf" --packager deb --target "$out/"
	done
done
ls -l "$out"/*_"$version"_*.deb
