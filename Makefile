# `make test` is the one test command (README, CI): vet, the Go tests under the race
# detector against a real redis-server, and the Action's Node tests.
GO ?= go
NODE ?= node
# What `mailproof version` prints for a binary make builds; outside a git checkout it is
# empty and the binary reports what the Go toolchain recorded instead.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: test vet gotest nodetest build run bench fuzz fmt chaos chaos-ci

test: vet gotest nodetest

vet:
	$(GO) vet ./...

gotest:
	$(GO) test -race -count=1 ./...

nodetest:
	@if ls deploy/action/*.test.js >/dev/null 2>&1; then $(NODE) --test deploy/action/; fi

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/mailproof ./cmd/mailproof

run:
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/mailproof local

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# The chaos suite (chaos/, README "Chaos suite"): real replicas, Redis and Sentinel under
# faults drawn from CHAOS_SEED (random when empty; the run prints it), then one table.
# It fails when a must-be-0 row is not 0. CI runs the two-minute version.
CHAOS_DURATION ?= 10m
CHAOS_SEED ?=
CHAOS_RATE ?= 3

chaos:
	CHAOS_DURATION=$(CHAOS_DURATION) CHAOS_SEED=$(CHAOS_SEED) CHAOS_RATE=$(CHAOS_RATE) $(GO) test -count=1 -timeout 60m -run '^TestChaos$$' -v ./chaos/

chaos-ci:
	$(MAKE) chaos CHAOS_DURATION=2m
