# Gatehouse. `make test` is the test command: it installs what the integration
# tests need (the Debian packages listed in scripts/test.sh, node's
# oidc-provider) and runs vet + tests.

GO       ?= go
BIN      ?= bin/gatehouse
FUZZTIME ?= 10s

.PHONY: all build release image image-offline test bench demo fuzz clean

# What a release build stamps into the binary (gatehouse -v). VERSION is the
# nearest v* tag (v1.2.0 -> 1.2.0), else 0.1.0-dev; COMMIT is the checked-out
# commit, "-dirty" when the tree has uncommitted changes.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || echo 0.1.0-dev)
COMMIT  ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c; })

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gatehouse

# A static binary (no cgo: it runs FROM scratch) with its version and commit.
release:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/gatehouse

# The container image (Dockerfile): buildah if installed, else docker.
IMAGE       ?= gatehouse:$(VERSION)
IMAGE_BUILD ?= $(if $(shell command -v buildah),buildah bud,docker build)
image:
	$(IMAGE_BUILD) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) $(IMAGE_FLAGS) -t $(IMAGE) .

# Where no registry is reachable: the build stage runs on a stand-in made
# from this machine's Go toolchain (scripts/go-builder-image.sh), with
# buildah's chroot isolation (no OCI runtime needed).
image-offline:
	$(MAKE) image IMAGE_BUILD="buildah bud" IMAGE_FLAGS="--isolation chroot --build-arg GO_IMAGE=$$(scripts/go-builder-image.sh)"

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
