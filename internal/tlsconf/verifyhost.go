package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// verifyHost is the VerifyConnection of a server with "verifyhost": the
// chain must lead to roots (server-auth usage, validity), then a DNS name
// of the certificate's SANs or one of its subject CNs must match name by
// hostMatches. HAProxy (ssl_sock_srv_verifycbk) looks at the CNs even
// when SANs are present, unlike Go's VerifyHostname; IP SANs never match.
// It runs on resumed sessions too.
func verifyHost(roots *x509.CertPool, name string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: server sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			return fmt.Errorf("tls: failed to verify certificate: %w", err)
		}
		if certMatchesHost(leaf, name) {
			return nil
		}
		return fmt.Errorf("tls: failed to verify certificate: no name of the certificate matches verifyhost %q", name)
	}
}

func certMatchesHost(c *x509.Certificate, name string) bool {
	for _, n := range c.DNSNames {
		if hostMatches(n, name) {
			return true
		}
	}
	for _, atv := range c.Subject.Names {
		if v, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) && hostMatches(v, name) {
			return true
		}
	}
	return false
}

// hostMatches reports whether a certificate name (pattern) matches host
// as HAProxy's ssl_sock_srv_hostcheck does (RFC 6125 6.4.3): equal ignoring
// case, or a pattern whose leftmost label holds one '*' standing for at
// least zero characters of host's leftmost label ("*.example.com",
// "w*.example.com", "*w.example.com"), the other labels equal. A wildcard
// never spans a dot, and a pattern without a dot matches only itself.
// Names carrying a NUL never match (they would match their truncation in
// C).
func hostMatches(pattern, host string) bool {
	if strings.IndexByte(pattern, 0) >= 0 || strings.IndexByte(host, 0) >= 0 {
		return false
	}
	if strings.EqualFold(pattern, host) {
		return true
	}
	pDot := strings.IndexByte(pattern, '.')
	if pDot < 0 {
		return false
	}
	label := pattern[:pDot]
	star := strings.IndexByte(label, '*')
	if star < 0 || strings.Count(label, "*") > 1 {
		return false
	}
	hDot := strings.IndexByte(host, '.')
	if hDot < 0 || !strings.EqualFold(pattern[pDot:], host[hDot:]) {
		return false
	}
	hLabel := host[:hDot]
	prefix, suffix := label[:star], label[star+1:]
	if len(hLabel) < len(prefix)+len(suffix) {
		return false
	}
	return strings.EqualFold(prefix, hLabel[:len(prefix)]) &&
		strings.EqualFold(suffix, hLabel[len(hLabel)-len(suffix):])
}
