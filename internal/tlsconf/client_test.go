package tlsconf

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// gateway is a TLS server config serving a certificate for names, issued
// by ca.
func gateway(t *testing.T, ca *tlstest.CA, names ...string) *tls.Config {
	t.Helper()
	s, err := LoadStore([]string{ca.WritePEMFile(t, t.TempDir(), "gw.pem", names...)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ServerConfig(s, &config.Bind{SSL: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientVerification(t *testing.T) {
	ca := tlstest.NewCA(t)
	other := tlstest.NewCA(t)
	caFile := ca.WriteCAFile(t, t.TempDir(), "ca.pem")
	tests := []struct {
		name    string
		srv     config.Server
		gw      *tls.Config
		sni     string
		wantErr string // "" for success
		wantSNI string // SNI the gateway must see
	}{
		{"right sni", config.Server{Host: "10.0.0.1", Verify: "required", CAFile: caFile},
			gateway(t, ca, "gw.test"), "gw.test", "", "gw.test"},
		{"default verify is required", config.Server{Host: "10.0.0.1", CAFile: caFile},
			gateway(t, ca, "gw.test"), "gw.test", "", "gw.test"},
		{"wildcard cert", config.Server{Host: "10.0.0.1", CAFile: caFile},
			gateway(t, ca, "*.mesh.test"), "shop.mesh.test", "", "shop.mesh.test"},
		{"wrong name", config.Server{Host: "10.0.0.1", Verify: "required", CAFile: caFile},
			gateway(t, ca, "gw.test"), "evil.test", "is valid for", "evil.test"},
		{"unknown CA", config.Server{Host: "10.0.0.1", Verify: "required", CAFile: caFile},
			gateway(t, other, "gw.test"), "gw.test", "unknown authority", "gw.test"},
		{"no sni: host name verified, no SNI sent", config.Server{Host: "gw.test", CAFile: caFile},
			gateway(t, ca, "gw.test"), "", "", ""},
		{"no sni: wrong host", config.Server{Host: "other.test", CAFile: caFile},
			gateway(t, ca, "gw.test"), "", "is valid for", ""},
		{"no sni: unknown CA", config.Server{Host: "gw.test", CAFile: caFile},
			gateway(t, other, "gw.test"), "", "unknown authority", ""},
		{"no sni: IP host and IP SAN", config.Server{Host: "127.0.0.1", CAFile: caFile},
			gateway(t, ca, "gw.test", "127.0.0.1"), "", "", ""},
		{"no sni: bracketed IPv6 host", config.Server{Host: "[::1]", CAFile: caFile},
			gateway(t, ca, "::1"), "", "", ""},
		{"no sni: IP host without IP SAN", config.Server{Host: "127.0.0.1", CAFile: caFile},
			gateway(t, ca, "gw.test"), "", "doesn't contain any IP SANs", ""},
		{"verify none: unknown CA and wrong name", config.Server{Host: "10.0.0.1", Verify: "none"},
			gateway(t, other, "gw.test"), "evil.test", "", "evil.test"},
		{"verify none: no sni", config.Server{Host: "10.0.0.1", Verify: "none"},
			gateway(t, other, "gw.test"), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := NewClientTemplate(&tt.srv)
			if err != nil {
				t.Fatal(err)
			}
			r := handshake(t, tt.gw, ct.ForSNI(tt.sni))
			if tt.wantErr == "" {
				if r.clientErr != nil || r.serverErr != nil {
					t.Fatalf("client %v, server %v", r.clientErr, r.serverErr)
				}
			} else if r.clientErr == nil || !strings.Contains(r.clientErr.Error(), tt.wantErr) {
				t.Fatalf("client error %v, want %q", r.clientErr, tt.wantErr)
			}
			if r.serverErr == nil && r.sni != tt.wantSNI {
				t.Errorf("gateway saw SNI %q, want %q", r.sni, tt.wantSNI)
			}
		})
	}
}

func TestClientTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	caFile := ca.WriteCAFile(t, dir, "ca.pem")
	c, _ := ca.Issue(t, "client")
	noKey := tlstest.WriteFile(t, filepath.Join(dir, "nokey.pem"), c)
	pos := config.Pos{File: "gh.cfg", Line: 12}
	tests := []struct {
		name string
		srv  config.Server
		opts []ClientOption
		want string // "" for success
	}{
		{"default verify without ca-file", config.Server{Name: "gw1"}, nil,
			"parsing [gh.cfg:12] : server 'gw1' : verify is enabled by default but no CA file specified"},
		{"explicit verify without ca-file", config.Server{Name: "gw1", Verify: "required"}, nil,
			"server 'gw1' : verify is enabled but no CA file specified"},
		{"ssl-server-verify none", config.Server{Name: "gw1"}, []ClientOption{WithDefaultVerify("none")}, ""},
		{"ssl-server-verify none, explicit required", config.Server{Name: "gw1", Verify: "required"},
			[]ClientOption{WithDefaultVerify("none")}, "verify is enabled but no CA file"},
		{"empty ssl-server-verify keeps required", config.Server{Name: "gw1"}, []ClientOption{WithDefaultVerify("")},
			"verify is enabled by default but no CA file specified"},
		{"system CAs", config.Server{Name: "gw1", CAFile: "@system-ca"}, nil, ""},
		{"bad verify", config.Server{Name: "gw1", Verify: "optional"}, nil, "'verify' expects 'none' or 'required'"},
		{"missing ca-file", config.Server{Name: "gw1", CAFile: filepath.Join(dir, "absent.pem")}, nil,
			"unable to load CA file"},
		{"ca-file not PEM", config.Server{Name: "gw1", CAFile: noKey + "x"}, nil, "unable to load CA file"},
		{"missing ca-file, verify none", config.Server{Name: "gw1", Verify: "none", CAFile: filepath.Join(dir, "absent.pem")}, nil,
			"unable to load CA file"},
		{"crt without key", config.Server{Name: "gw1", CAFile: caFile, Crt: noKey}, nil, "no private key found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.srv.Pos = pos
			_, err := NewClientTemplate(&tt.srv, tt.opts...)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestClientCertificate(t *testing.T) {
	dir := t.TempDir()
	serverCA := tlstest.NewCA(t)
	clientCA := tlstest.NewCA(t)
	store, err := LoadStore([]string{serverCA.WritePEMFile(t, dir, "gw.pem", "gw.test")})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := ServerConfig(store, &config.Bind{SSL: true, Verify: "required", CAFile: clientCA.WriteCAFile(t, dir, "clientca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	if gw.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("ClientAuth %v", gw.ClientAuth)
	}
	caFile := serverCA.WriteCAFile(t, dir, "ca.pem")
	crt := clientCA.WritePEMFile(t, dir, "client.pem", "gatehouse.client")
	strangerCrt := tlstest.NewCA(t).WritePEMFile(t, dir, "stranger.pem", "gatehouse.client")

	tests := []struct {
		name    string
		crt     string
		wantErr bool
	}{
		{"presented and trusted", crt, false},
		{"none presented", "", true},
		{"untrusted issuer", strangerCrt, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := NewClientTemplate(&config.Server{Host: "gw.test", CAFile: caFile, Crt: tt.crt})
			if err != nil {
				t.Fatal(err)
			}
			r := handshake(t, gw, ct.ForSNI("gw.test"))
			if tt.wantErr {
				if r.serverErr == nil {
					t.Fatal("gateway accepted the connection")
				}
				return
			}
			if r.serverErr != nil || r.clientErr != nil {
				t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
			}
			if pc := r.server.PeerCertificates; len(pc) == 0 || pc[0].Subject.CommonName != "gatehouse.client" {
				t.Fatalf("gateway saw client certificates %v", pc)
			}
		})
	}
}

func TestClientSessionResumption(t *testing.T) {
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS1.3", tls.VersionTLS13}, {"TLS1.2", tls.VersionTLS12}} {
		t.Run(v.name, func(t *testing.T) {
			ca := tlstest.NewCA(t)
			gw := gateway(t, ca, "gw.test", "other.test")
			gw.MaxVersion = v.max
			ct, err := NewClientTemplate(&config.Server{Host: "gw.test", CAFile: ca.WriteCAFile(t, t.TempDir(), "ca.pem")})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []bool{false, true, true} {
				r := handshake(t, gw, ct.ForSNI("gw.test"))
				if r.clientErr != nil || r.serverErr != nil {
					t.Fatalf("conn %d: client %v, server %v", i, r.clientErr, r.serverErr)
				}
				if r.client.DidResume != want {
					t.Errorf("conn %d: DidResume %v, want %v", i, r.client.DidResume, want)
				}
			}
			// Sessions are per SNI: a new name starts a full handshake.
			if r := handshake(t, gw, ct.ForSNI("other.test")); r.client.DidResume {
				t.Error("resumed a session of another SNI")
			}
			// Without SNI, sessions are keyed by address and still verified.
			noSNI, ln := ct.ForSNI(""), listen(t)
			handshakeOn(t, ln, gw, noSNI)
			if r := handshakeOn(t, ln, gw, noSNI); r.clientErr != nil || !r.client.DidResume {
				t.Errorf("no SNI: err %v, DidResume %v", r.clientErr, r.client.DidResume)
			}
		})
	}
}

func TestClientTemplateCacheAndIDs(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	caFile := ca.WriteCAFile(t, dir, "ca.pem")
	crtA := ca.WritePEMFile(t, dir, "a.pem", "a.client")
	crtB := ca.WritePEMFile(t, dir, "b.pem", "b.client")
	mk := func(crt string, opts ...ClientOption) *ClientTemplate {
		ct, err := NewClientTemplate(&config.Server{Host: "gw", CAFile: caFile, Crt: crt, ALPN: []string{"h2", "http/1.1"}}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	a, a2, b, none := mk(crtA), mk(crtA), mk(crtB), mk("")
	if a.ClientCertID() == "" || a.ClientCertID() != a2.ClientCertID() || a.ClientCertID() == b.ClientCertID() {
		t.Errorf("cert IDs a=%q a2=%q b=%q", a.ClientCertID(), a2.ClientCertID(), b.ClientCertID())
	}
	if none.ClientCertID() != "" {
		t.Errorf("no crt: ID %q", none.ClientCertID())
	}
	if a.ForSNI("x.test") != a.ForSNI("x.test") {
		t.Error("ForSNI does not cache")
	}
	if c := a.ForSNI("x.test"); c.ServerName != "x.test" || strings.Join(c.NextProtos, ",") != "h2,http/1.1" || c.MinVersion != tls.VersionTLS12 {
		t.Errorf("config: ServerName %q NextProtos %v MinVersion %x", c.ServerName, c.NextProtos, c.MinVersion)
	}
	small := mk("", WithMaxConfigs(2))
	small.ForSNI("1")
	small.ForSNI("2")
	if small.ForSNI("3") == small.ForSNI("3") {
		t.Error("cache grew past its bound")
	}
	if small.ForSNI("1") != small.ForSNI("1") {
		t.Error("cached entry lost")
	}
}
