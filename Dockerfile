# syntax=docker/dockerfile:1
#
# Gatehouse's image: one static binary, the CA bundle, a non-root user and
# nothing else (no shell, no libc, no package manager).
#
#   make image                                  # buildah if installed, else docker
#   docker build --build-arg VERSION=1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) -t gatehouse .
#   docker run -v $PWD/gatehouse.cfg:/etc/gatehouse/gatehouse.cfg:ro -p 8080:8080 gatehouse
#
# The build stage only needs Go 1.26 and a POSIX shell. Where no registry is
# reachable, scripts/go-builder-image.sh makes a stand-in for it from the
# host's Go toolchain and `make image-offline` uses it (README: "Container image").
ARG GO_IMAGE=docker.io/library/golang:1.26.8-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Static: the final image has no libc for cgo's resolver or anything else.
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
COPY . .
ARG VERSION=0.1.0-dev
ARG COMMIT=unknown
# The cache mounts keep modules and compiled packages between builds.
RUN --mount=type=cache,target=/go/pkg/mod,id=gatehouse-gomod \
    --mount=type=cache,target=/root/.cache/go-build,id=gatehouse-gobuild \
    go build -trimpath -ldflags "-X main.version=${VERSION} -X main.commit=${COMMIT}" \
        -o /out/gatehouse ./cmd/gatehouse \
 && /out/gatehouse -v \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

FROM scratch
ARG VERSION=0.1.0-dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="gatehouse" \
      org.opencontainers.image.description="Edge proxy in front of Istio that runs HAProxy configurations and adds OIDC identity" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
# Go's crypto/x509 reads this path: OIDC discovery, JWKS and 'ca-file'-less
# server verification need it.
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
# distroless's "nonroot"; no /etc/passwd is needed for a numeric user. Bind
# ports >= 1024 (the chart maps 80/443 to 8080/8443) or grant
# CAP_NET_BIND_SERVICE.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/gatehouse"]
# A directory: every *.cfg in it, in lexical order (a mounted ConfigMap).
CMD ["-f", "/etc/gatehouse/"]
