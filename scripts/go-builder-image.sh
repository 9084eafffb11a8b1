#!/usr/bin/env bash
# go-builder-image.sh [NAME]: make a local image that stands in for the
# Dockerfile's build stage (golang:1.26.8-bookworm) on a machine that cannot
# pull images: the host's Go toolchain, busybox's static shell and tools, and
# the host's CA bundle, committed with buildah. Prints the image's name.
# The build stage still downloads modules through GOPROXY (the host's network).
#
#   make image-offline       # runs this, then builds the Dockerfile with it
set -euo pipefail
name=${1:-localhost/gatehouse-go-builder:$(go env GOVERSION)}
if buildah inspect --type image "$name" >/dev/null 2>&1; then
	echo "$name"
	exit 0
fi
goroot=$(go env GOROOT)
busybox=$(command -v busybox || true)
# ldd fails on a static binary, saying so.
if [ -z "$busybox" ] || [[ "$(ldd "$busybox" 2>&1 || true)" != *"not a dynamic executable"* ]]; then
	echo "go-builder-image: needs a static busybox (Debian: apt-get install busybox-static)" >&2
	exit 1
fi
c=$(buildah from scratch)
trap 'buildah rm "$c" >/dev/null 2>&1 || true' EXIT
for d in bin pkg src lib go.env VERSION; do
	buildah copy -q "$c" "$goroot/$d" "/usr/local/go/$d" >/dev/null
done
buildah copy -q "$c" "$busybox" /bin/busybox >/dev/null
buildah copy -q "$c" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
# No OCI runtime is needed for this: chroot isolation.
buildah run --isolation chroot "$c" /bin/busybox sh -c '/bin/busybox --install -s /bin && mkdir -p /tmp /root /go && chmod 1777 /tmp'
buildah config --env PATH=/usr/local/go/bin:/go/bin:/bin --env HOME=/root --env GOPATH=/go \
	--env GOTOOLCHAIN=local --workingdir /go "$c"
buildah commit -q --rm "$c" "$name" >/dev/null
trap - EXIT
echo "$name"
