# Gatehouse. `make test` is the test command: it installs what the integration
# tests need (haproxy, nginx, wrk, nghttp2-client) and runs vet + tests.

GO       ?= go
BIN      ?= bin/gatehouse
FUZZTIME ?= 10s

.PHONY: all build test bench demo fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gatehouse

test:
	scripts/test.sh

# Side-by-side throughput against HAProxy; see bench/run.sh for ROUNDS, DURATION, CONNS.
bench:
	bench/run.sh

demo:
	$(GO) run ./cmd/gatehouse demo

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

clean:
	rm -rf bin
	$(GO) clean -testcache
