package demo

import (
	"fmt"
	"strings"
)

// Host is the mesh host name the demo gateway serves, as in the seed.
const Host = "helloworld.mesh.local"

// EdgeConfig returns the demo's edge configuration, in the seed's style,
// pointing at a gateway listening on gatewayAddr.
func EdgeConfig(edgePort, statsPort int, gatewayAddr string) string {
	return strings.TrimLeft(fmt.Sprintf(`
# Gatehouse demo: the edge in front of an Istio-like ingress gateway.
global
    maxconn 10000
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s

frontend stats
    bind :%[2]d
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
    stats refresh 10s

frontend istio-gateway
    bind :%[1]d
    option forwardfor
    http-request deny deny_status 403 if { path_beg /admin }
    http-request return status 200 content-type text/plain string "edge is up\n" if { path /edge-health }
    use_backend istio-gateway

backend istio-gateway
    option httpchk GET /healthz/ready HTTP/1.1\r\nHost:\ %[4]s
    http-request set-header Host %[4]s
    server gateway-1 %[3]s check inter 5s check-ssl check-sni %[4]s ssl sni str(%[4]s) verify none
`, edgePort, statsPort, gatewayAddr, Host), "\n")
}
