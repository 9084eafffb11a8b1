// Package integration runs Gatehouse as a process against real peers:
// nginx set up like Istio's ingress gateway, and HAProxy itself on the
// same configuration for side-by-side behaviour.
package integration
