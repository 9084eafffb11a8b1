package tlsconf

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestHostMatches: HAProxy's ssl_sock_srv_hostcheck rules.
func TestHostMatches(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"www.example.com", "www.example.com", true},
		{"WWW.Example.COM", "www.example.com", true},
		{"www.example.com", "api.example.com", false},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.Example.com", "WWW.example.COM", true},
		{"w*.example.com", "www.example.com", true},
		{"w*.example.com", "api.example.com", false},
		{"*w.example.com", "www.example.com", true},
		{"w*w.example.com", "ww.example.com", true}, // '*' may stand for nothing
		{"w*w.example.com", "w.example.com", false},
		{"ww*w.example.com", "www.example.com", true},
		{"**.example.com", "www.example.com", false}, // two wildcards
		{"www.*.com", "www.example.com", false},      // not in the leftmost label
		{"*", "localhost", false},                    // no dot: only itself
		{"localhost", "LOCALHOST", true},
		{"*.com", "example.com", true},
		{"*.example.com", "localhost", false},
		{"www.example.com\x00.evil.com", "www.example.com", false},
	}
	for _, tt := range tests {
		if got := hostMatches(tt.pattern, tt.host); got != tt.want {
			t.Errorf("hostMatches(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

// TestVerifyHost: with "verifyhost", a connection without SNI (and one whose
// SNI came from the Host, ForAutoSNI) checks the certificate's SANs and CN
// against it; an SNI that is sent wins over it, as in HAProxy 2.6.
func TestVerifyHost(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	dir := t.TempDir()
	caFile := ca.WriteCAFile(t, dir, "ca.pem")
	cnOnly := func(ca *tlstest.CA, cn string, names ...string) *tls.Config {
		c, k := ca.IssueLeaf(t, tlstest.Leaf{CommonName: cn, Names: names})
		s, err := LoadStore([]string{tlstest.WriteFile(t, filepath.Join(t.TempDir(), "gw.pem"), append(c, k...))})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ServerConfig(s, &config.Bind{SSL: true})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	tests := []struct {
		name      string
		srv       config.Server
		gw        *tls.Config
		sni       string
		auto      bool
		wantErr   string
		wantGWSNI string
	}{
		{"no sni: matches", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "be.example.com"},
			gateway(t, ca, "be.example.com"), "", false, "", ""},
		{"no sni: wildcard SAN", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "be.example.com"},
			gateway(t, ca, "b*.example.com"), "", false, "", ""},
		{"no sni: CN beside other SANs", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "be.example.com"},
			cnOnly(ca, "be.example.com", "other.example.com"), "", false, "", ""},
		{"no sni: mismatch", config.Server{Host: "be.example.com", CAFile: caFile, VerifyHost: "evil.example.com"},
			gateway(t, ca, "be.example.com"), "", false, "matches verifyhost", ""},
		{"no sni: IP SAN is no match", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "127.0.0.1"},
			cnOnly(ca, "x.example.com", "127.0.0.1"), "", false, "matches verifyhost", ""},
		{"no sni: unknown CA", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "be.example.com"},
			gateway(t, other, "be.example.com"), "", false, "unknown authority", ""},
		{"sni wins over verifyhost", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "evil.example.com"},
			gateway(t, ca, "be.example.com"), "be.example.com", false, "", "be.example.com"},
		{"sni checked, not verifyhost", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "be.example.com"},
			gateway(t, ca, "be.example.com"), "www.example.com", false, "is valid for", "www.example.com"},
		{"sni from Host: verifyhost checked, sni sent", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "be.example.com"},
			gateway(t, ca, "be.example.com"), "www.example.com", true, "", "www.example.com"},
		{"sni from Host: verifyhost mismatch", config.Server{Host: "10.0.0.1", CAFile: caFile, VerifyHost: "x.example.com"},
			gateway(t, ca, "be.example.com"), "be.example.com", true, "matches verifyhost", "be.example.com"},
		{"sni from Host without verifyhost: sni checked", config.Server{Host: "10.0.0.1", CAFile: caFile},
			gateway(t, ca, "be.example.com"), "www.example.com", true, "is valid for", "www.example.com"},
		{"verify none ignores verifyhost", config.Server{Host: "10.0.0.1", Verify: "none", VerifyHost: "x.example.com"},
			gateway(t, other, "be.example.com"), "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := NewClientTemplate(&tt.srv)
			if err != nil {
				t.Fatal(err)
			}
			c := ct.ForSNI(tt.sni)
			if tt.auto {
				c = ct.ForAutoSNI(tt.sni)
			}
			// Twice: the second handshake resumes, and must be checked the same.
			for i := 0; i < 2; i++ {
				r := handshake(t, tt.gw, c)
				if tt.wantErr == "" {
					if r.clientErr != nil || r.serverErr != nil {
						t.Fatalf("handshake %d: client %v, server %v", i, r.clientErr, r.serverErr)
					}
				} else if r.clientErr == nil || !strings.Contains(r.clientErr.Error(), tt.wantErr) {
					t.Fatalf("handshake %d: client error %v, want %q", i, r.clientErr, tt.wantErr)
				}
				if r.serverErr == nil && r.sni != tt.wantGWSNI {
					t.Errorf("gateway saw SNI %q, want %q", r.sni, tt.wantGWSNI)
				}
			}
		})
	}
}
