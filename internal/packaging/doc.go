// Package packaging holds the tests of what ships Gatehouse beside the
// binary: the container image (Dockerfile), the Helm chart
// (deploy/helm/gatehouse) and the systemd unit (contrib/systemd). It has
// no code of its own.
package packaging
