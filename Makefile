# make run   - build the web console (when Node.js is here), then start `gpuaas dev`
#              (starts or installs PostgreSQL first)
# make test  - go vet and every test against real PostgreSQL, Redis, NATS and a private Docker
#              Engine (the docker runtime's), then the web console's checks, unit tests and
#              browser journeys (scripts/web-test.sh)
# make build - bin/gpuaas, with the web console embedded when Node.js is here
# make web-e2e - only the browser journeys against a fresh `gpuaas dev` (E2E_ONLY=name)
# make gen   - regenerate api/types.gen.go, the sqlc queries and the console's web/src/api/schema.d.ts
# make lint  - gofmt check and go vet
# make bench - API figures next to same-run baselines (pgbench -S, bare net/http)
# make bench-profile - where one allocation create spends its CPU: per process, per SQL statement
#              (with pg_stat_statements loaded), and the Go profile's top functions (SMALL=500 BIG=3000);
#              then a whole allocation's CPU through to active, paced at RATE=300/s
# make bench-agents - N real agents against one control plane (N=1000 INTERVAL=10s SOAK=120s GPUS=2);
#              GPUS=8 for the telemetry target (1,000 nodes × 8 GPUs: sample rows/s, PostgreSQL CPU)
# make soak  - a real `gpuaas server` under a steady mixed load for DURATION (default 10m, RATE=20 ops/s):
#              heap, goroutines, open fds and Postgres connections over time, and a verdict
# make bench-terminal - S terminal sessions through the gateway vs a plain ws proxy to the same PTYs (S=100 RATE=40960 DUR=15s ROUNDS=5)
# make bench-apps - requests/s, p50/p99 and a 1 GiB download through /apps/... against the same app server
#              reached directly, in one run (C=50 DUR=5s ROUNDS=3 BYTES=1073741824)
# make package - gpuaas-server and gpuaas-agent .deb packages into dist/ (ARCH=amd64|arm64, default both)
# make test-package - build, install, serve TLS, upgrade and remove the packages on this machine (root)
# make test-faults - the fault-injection suite's long form: 200+ kills and restarts of replicas, agents,
#              NATS, Redis and Postgres under a seeded workload, then the invariants (root; SEED=N replays)

SHELL := /bin/bash
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := /usr/local/go/bin:$(PATH)
endif

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
SQLC_VERSION := v1.31.1

.PHONY: run build test test-faults gen lint bench bench-profile bench-agents bench-terminal bench-apps package test-package soak services web web-test web-e2e

run:
	scripts/ensure-services.sh postgres
	scripts/web-build.sh
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/gpuaas dev

build:
	scripts/web-build.sh
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/gpuaas ./cmd/gpuaas

# The console alone, rebuilt even when web/dist looks current.
web:
	scripts/web-build.sh --force

services:
	scripts/ensure-services.sh postgres redis nats

# The private Docker Engine that scripts/ensure-services.sh starts; the
# docker runtime's tests find it through GPUAAS_TEST_DOCKER_HOST.
GPUAAS_DOCKER_DIR ?= /var/lib/gpuaas-ci-docker
export GPUAAS_DOCKER_DIR
GPUAAS_HYDRA_DIR ?= /var/lib/gpuaas-ci-hydra
export GPUAAS_HYDRA_DIR

# go test -p 4 -parallel 8: most tests wait (on servers, agents, timers,
# the soak's and the fault suite's minute of load), so more packages and
# more parallel tests than GOMAXPROCS at a time keep the cores busy: the Go
# tests take about 200 s instead of 370 s on a 2-core machine.
test: services
	scripts/ensure-services.sh docker
	scripts/ensure-services.sh s3
	scripts/ensure-services.sh hydra
	scripts/ensure-services.sh mailpit
	scripts/ensure-services.sh stripe-mock
	$(GO) vet ./...
	GPUAAS_TEST_SMTP=$${GPUAAS_TEST_SMTP:-smtp://127.0.0.1:1025} \
	GPUAAS_TEST_MAILPIT_API=$${GPUAAS_TEST_MAILPIT_API:-http://127.0.0.1:8025} \
	GPUAAS_TEST_HYDRA=$${GPUAAS_TEST_HYDRA:-$(GPUAAS_HYDRA_DIR)/bin/hydra-v2.3.0} \
	GPUAAS_TEST_DOCKER_HOST=$${GPUAAS_TEST_DOCKER_HOST:-unix://$(GPUAAS_DOCKER_DIR)/docker.sock} \
	GPUAAS_TEST_STRIPE_MOCK=$${GPUAAS_TEST_STRIPE_MOCK:-http://127.0.0.1:12111} \
	GPUAAS_TEST_S3_ENDPOINT=$${GPUAAS_TEST_S3_ENDPOINT:-http://127.0.0.1:7480} $(GO) test -count=1 -p 4 -parallel 8 ./...
	scripts/web-test.sh
	scripts/package-test.sh

# The fault-injection suite starts its own Postgres, NATS and Redis (so it
# can kill them): no services target. Its short form runs in `make test`.
test-faults:
	GPUAAS_FAULTS_LONG=1 $(if $(SEED),GPUAAS_FAULTS_SEED=$(SEED)) $(GO) test -count=1 -v -timeout 30m -run '^TestFaults$$' ./internal/faults

web-test: services
	scripts/web-test.sh

web-e2e: services
	scripts/web-e2e.sh

gen:
	$(GO) generate ./api
	@if command -v sqlc >/dev/null 2>&1; then sqlc generate; \
	elif [ -x "$$HOME/go/bin/sqlc" ]; then "$$HOME/go/bin/sqlc" generate; \
	else $(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION) generate; fi
	@if [ -d web/node_modules ]; then cd web && npm run --silent gen:api; \
	else echo "make gen: web/node_modules is missing; run 'cd web && npm ci && npm run gen:api' to refresh web/src/api/schema.d.ts"; fi

lint:
	@unformatted="$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

bench: services
	scripts/bench.sh

bench-profile: services
	scripts/bench-profile.sh

bench-agents: services
	scripts/bench-agents.sh

bench-terminal: services
	scripts/bench-terminal.sh

bench-apps: services
	scripts/bench-apps.sh

package:
	scripts/package.sh

test-package: services
	scripts/package-test.sh

soak: services
	scripts/soak.sh
