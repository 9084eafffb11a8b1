package demo

import (
	"fmt"
	"strings"
)

// Host is the mesh host name the demo gateway serves, as in the seed.
const Host = "helloworld.mesh.local"

// ClientID is the edge's client at the embedded provider.
const ClientID = "gatehouse-demo"

// EdgeParams are what the demo's edge configuration points at.
type EdgeParams struct {
	HTTPPort, TLSPort, StatsPort int
	IdPIssuer                    string // the embedded provider
	GatewayAddr                  string // the Istio-like gateway
	Dir                          string // certificate, secrets, signing key (see Start)
}

// EdgeURL is where the browser goes: the edge's TLS port.
func (p EdgeParams) EdgeURL() string { return fmt.Sprintf("https://localhost:%d", p.TLSPort) }

// EdgeConfig returns the demo's edge configuration, in the seed's style:
// TLS on the edge (plain HTTP redirects to it), OIDC login at the
// embedded provider, a claim rule (only group staff under /staff), an
// edge-signed identity token for the mesh and its JWKS, re-encryption to
// the gateway with the SNI and Host it routes on, and the stats page.
func EdgeConfig(p EdgeParams) string {
	return strings.TrimLeft(fmt.Sprintf(`
# Gatehouse demo: login at the edge, an edge-signed identity token that the
# Istio-like gateway verifies against the edge's JWKS.
global
    maxconn 4096
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

# The embedded OpenID provider (alice is in group staff, bob is not).
oidc demo
    issuer %[4]s
    client-id %[8]s
    client-secret file:%[6]s/client-secret
    cookie-secret file:%[6]s/cookie-secret
    scopes openid email profile groups
    redirect-uri %[7]s/oauth2/callback
    post-logout-uri %[7]s/signed-out

# What the mesh receives: a short-lived token signed by the edge, whose
# keys Istio's RequestAuthentication reads from jwksUri.
identity-token mesh
    issuer %[7]s
    audience %[9]s
    signing-key file:%[6]s/mesh-signing.pem
    claims email name groups
    lifetime 5m

frontend stats
    bind :%[3]d
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
    stats refresh 10s

frontend http
    bind :%[1]d
    http-request redirect prefix %[7]s code 301

frontend edge
    bind :%[2]d ssl crt %[6]s/edge.pem
    option forwardfor
    acl staff oidc_claim(groups) -m str staff
    http-request return status 200 content-type text/plain string "edge is up\n" if { path /edge-health }
    http-request return status 200 content-type text/plain string "Signed out.\n" if { path /signed-out }
    http-request use-service jwks:mesh if { path /.well-known/jwks.json }
    http-request oidc-auth demo
    http-request deny deny_status 403 if { path_beg /staff } !staff
    http-request set-identity-token mesh
    default_backend istio-gateway

backend istio-gateway
    option httpchk GET /healthz/ready HTTP/1.1\r\nHost:\ %[9]s
    http-request set-header Host %[9]s
    server gateway-1 %[5]s check inter 5s check-ssl check-sni %[9]s ssl sni str(%[9]s) verify required ca-file %[6]s/mesh-ca.pem
`, p.HTTPPort, p.TLSPort, p.StatsPort, p.IdPIssuer, p.GatewayAddr, p.Dir, p.EdgeURL(), ClientID, Host), "\n")
}
