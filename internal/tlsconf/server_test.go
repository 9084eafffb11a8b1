package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

func TestServerConfig(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	store, err := LoadStore([]string{ca.WritePEMFile(t, dir, "site.pem", "site.test")})
	if err != nil {
		t.Fatal(err)
	}
	caFile := ca.WriteCAFile(t, dir, "ca.pem")
	pos := config.Pos{File: "gh.cfg", Line: 3}
	tests := []struct {
		name     string
		bind     config.Bind
		wantAuth tls.ClientAuthType
		wantErr  string
	}{
		{"plain", config.Bind{}, tls.NoClientCert, ""},
		{"verify none with ca-file", config.Bind{Verify: "none", CAFile: caFile}, tls.NoClientCert, ""},
		{"optional", config.Bind{Verify: "optional", CAFile: caFile}, tls.VerifyClientCertIfGiven, ""},
		{"required", config.Bind{Verify: "required", CAFile: caFile}, tls.RequireAndVerifyClientCert, ""},
		{"required without ca-file", config.Bind{Verify: "required"}, 0,
			"parsing [gh.cfg:3] : bind ':443' : verify is enabled but no CA file specified"},
		{"optional without ca-file", config.Bind{Verify: "optional"}, 0, "verify is enabled but no CA file specified"},
		{"bad verify", config.Bind{Verify: "sometimes", CAFile: caFile}, 0, "'verify' expects"},
		{"bad ca-file", config.Bind{Verify: "required", CAFile: dir + "/none.pem"}, 0, "unable to load CA file"},
		// HAProxy loads CA files as it parses them, used or not.
		{"bad ca-file, verify none", config.Bind{CAFile: dir + "/none.pem"}, 0, "'ca-file' : unable to load CA file"},
		{"bad ca-verify-file, verify none", config.Bind{CAVerifyFile: dir + "/none.pem"}, 0, "'ca-verify-file' : unable to load CA file"},
		{"ca-verify-file alone", config.Bind{Verify: "required", CAVerifyFile: caFile}, tls.RequireAnyClientCert, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.bind
			b.Pos, b.Addr, b.SSL = pos, ":443", true
			c, err := ServerConfig(store, &b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientAuth != tt.wantAuth || c.MinVersion != tls.VersionTLS12 || c.SessionTicketsDisabled {
				t.Errorf("ClientAuth %v MinVersion %x tickets off %v", c.ClientAuth, c.MinVersion, c.SessionTicketsDisabled)
			}
		})
	}
	if _, err := ServerConfig(nil, &config.Bind{SSL: true, Addr: ":443"}); err == nil {
		t.Error("nil store accepted")
	}
}

func TestServerALPN(t *testing.T) {
	ca := tlstest.NewCA(t)
	store, err := LoadStore([]string{ca.WritePEMFile(t, t.TempDir(), "site.pem", "site.test")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		bindALPN   []string
		clientALPN []string
		want       string
	}{
		{"h2 preferred", []string{"h2", "http/1.1"}, []string{"http/1.1", "h2"}, "h2"},
		{"http/1.1 only client", []string{"h2", "http/1.1"}, []string{"http/1.1"}, "http/1.1"},
		{"none advertised", nil, []string{"h2", "http/1.1"}, ""},
		{"client without ALPN", []string{"h2"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := ServerConfig(store, &config.Bind{SSL: true, ALPN: tt.bindALPN})
			if err != nil {
				t.Fatal(err)
			}
			r := handshake(t, sc, &tls.Config{ServerName: "site.test", RootCAs: ca.CertPool(), NextProtos: tt.clientALPN})
			if r.clientErr != nil || r.serverErr != nil {
				t.Fatalf("client %v, server %v", r.clientErr, r.serverErr)
			}
			if r.client.NegotiatedProtocol != tt.want {
				t.Errorf("negotiated %q, want %q", r.client.NegotiatedProtocol, tt.want)
			}
		})
	}
}

func TestServerOptionalClientCert(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	store, err := LoadStore([]string{ca.WritePEMFile(t, dir, "site.pem", "site.test")})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ServerConfig(store, &config.Bind{SSL: true, Verify: "optional", CAFile: ca.WriteCAFile(t, dir, "ca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	good := ca.TLSCertificate(t, "client")
	bad := tlstest.NewCA(t).TLSCertificate(t, "client")
	tests := []struct {
		name    string
		certs   []tls.Certificate
		wantErr bool
		wantPC  int
	}{
		{"no certificate", nil, false, 0},
		{"trusted certificate", []tls.Certificate{good}, false, 1},
		{"untrusted certificate", []tls.Certificate{bad}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := handshake(t, sc, &tls.Config{ServerName: "site.test", RootCAs: ca.CertPool(), Certificates: tt.certs})
			if (r.serverErr != nil) != tt.wantErr {
				t.Fatalf("server error %v, wantErr %v", r.serverErr, tt.wantErr)
			}
			if !tt.wantErr && len(r.server.PeerCertificates) != tt.wantPC {
				t.Errorf("peer certificates %d, want %d", len(r.server.PeerCertificates), tt.wantPC)
			}
		})
	}
}
