// Package demo is the built-in picture "gatehouse demo" starts: a TLS mesh
// gateway that behaves like Istio's ingress gateway, and the edge config
// that fronts it in the seed's style.
package demo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Gateway imitates an Istio ingress gateway with a SIMPLE-mode TLS Gateway
// for Hosts: it refuses a handshake whose SNI is not one of its hosts (as
// Envoy's filter chain match does), answers 404 for an unknown Host, and
// echoes what reached it so the edge's work is visible. With Auth it also
// verifies JWTs as a RequestAuthentication and requires a principal as an
// AuthorizationPolicy would (see jwtauth.go).
type Gateway struct {
	Hosts []string
	Auth  *RequestAuthentication
	cert  []byte // DER of its certificate
	srv   *http.Server
	ln    net.Listener
}

// StartGateway listens on addr (e.g. "127.0.0.1:0") with a fresh
// self-signed certificate for hosts, verifying JWTs with auth (nil: none).
func StartGateway(addr string, auth *RequestAuthentication, hosts ...string) (*Gateway, error) {
	cert, err := selfSigned(hosts)
	if err != nil {
		return nil, err
	}
	g := &Gateway{Hosts: hosts, Auth: auth, cert: cert.Certificate[0]}
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if !g.knows(hello.ServerName) {
				// Envoy has no filter chain for this SNI: the handshake fails.
				return nil, fmt.Errorf("no filter chain matches SNI %q", hello.ServerName)
			}
			return nil, nil
		},
		Certificates: []tls.Certificate{cert},
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	g.ln = ln
	g.srv = &http.Server{
		Handler:           http.HandlerFunc(g.serveHTTP),
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	go g.srv.ServeTLS(ln, "", "")
	return g, nil
}

// CertPEM is the gateway's certificate, for the edge's ca-file.
func (g *Gateway) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.cert})
}

// Addr is the gateway's listening address.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// Close stops the gateway.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return g.srv.Shutdown(ctx)
}

func (g *Gateway) knows(name string) bool {
	for _, h := range g.Hosts {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// Echo is what the gateway answers: what reached it.
type Echo struct {
	Gateway string              `json:"gateway"`
	SNI     string              `json:"sni"`
	Host    string              `json:"host"`
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Proto   string              `json:"proto"`
	Peer    string              `json:"peer"`
	BodyLen int64               `json:"body_len"`
	Headers map[string][]string `json:"headers"`
	// Principal and Claims are what the gateway's JWT verification
	// established (Istio's request.auth.principal, "iss/sub", and
	// request.auth.claims); empty without Auth.
	Principal string         `json:"principal,omitempty"`
	Claims    map[string]any `json:"claims,omitempty"`
}

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !g.knows(host) {
		// Istio answers 404 when no VirtualService matches the Host.
		w.Header().Set("Server", "istio-envoy")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.URL.Path == "/healthz/ready" {
		w.WriteHeader(http.StatusOK)
		return
	}
	var principal string
	var claims map[string]any
	if g.Auth != nil {
		var ok bool
		if principal, claims, ok = g.Auth.check(w, r); !ok {
			return
		}
	}
	n, _ := countBody(r)
	e := Echo{
		Principal: principal,
		Claims:    claims,
		Gateway:   "demo-istio-ingressgateway",
		Host:      r.Host,
		Method:    r.Method,
		URI:       r.RequestURI,
		Proto:     r.Proto,
		Peer:      r.RemoteAddr,
		BodyLen:   n,
		Headers:   map[string][]string{},
	}
	if r.TLS != nil {
		e.SNI = r.TLS.ServerName
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.Headers[k] = r.Header[k]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Server", "istio-envoy")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(e)
}

func countBody(r *http.Request) (int64, error) {
	var n int64
	buf := make([]byte, 32<<10)
	for {
		m, err := r.Body.Read(buf)
		n += int64(m)
		if err != nil {
			if errors.Is(err, http.ErrBodyReadAfterClose) {
				return n, nil
			}
			return n, nil
		}
	}
}

func selfSigned(hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Gatehouse demo mesh"}},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
