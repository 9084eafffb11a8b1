package tlsconf

import (
	"crypto/tls"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestVersionRange follows HAProxy 2.6's ssl_sock_prepare_ctx: no-* flags
// only without ssl-min-ver/ssl-max-ver, TLS 1.2 as the default minimum
// unless ssl-max-ver is lower, holes accepted, nothing left an error.
func TestVersionRange(t *testing.T) {
	bit := func(vs ...int) uint8 {
		var b uint8
		for _, v := range vs {
			b |= 1 << v
		}
		return b
	}
	for _, c := range []struct {
		name   string
		o      config.TLSOptions
		lo, hi uint16
		err    bool
	}{
		{"defaults", config.TLSOptions{}, tls.VersionTLS12, tls.VersionTLS13, false},
		{"min 1.0", config.TLSOptions{MinVer: config.TLSv10}, tls.VersionTLS10, tls.VersionTLS13, false},
		{"SSLv3 reads as TLS 1.0", config.TLSOptions{MinVer: config.SSLv3}, tls.VersionTLS10, tls.VersionTLS13, false},
		{"max 1.1 lowers the default min", config.TLSOptions{MaxVer: config.TLSv11}, tls.VersionTLS11, tls.VersionTLS11, false},
		{"max 1.2", config.TLSOptions{MaxVer: config.TLSv12}, tls.VersionTLS12, tls.VersionTLS12, false},
		{"force 1.3", config.TLSOptions{MinVer: config.TLSv13, MaxVer: config.TLSv13}, tls.VersionTLS13, tls.VersionTLS13, false},
		{"no-tlsv13", config.TLSOptions{NoVersions: bit(config.TLSv13)}, tls.VersionTLS12, tls.VersionTLS12, false},
		{"no-tlsv12 leaves 1.3", config.TLSOptions{NoVersions: bit(config.TLSv12)}, tls.VersionTLS13, tls.VersionTLS13, false},
		{"flags ignored with min", config.TLSOptions{MinVer: config.TLSv12, NoVersions: bit(config.TLSv13)}, tls.VersionTLS12, tls.VersionTLS13, false},
		{"all disabled", config.TLSOptions{NoVersions: bit(config.TLSv12, config.TLSv13)}, 0, 0, true},
		{"min above max", config.TLSOptions{MinVer: config.TLSv13, MaxVer: config.TLSv12}, 0, 0, true},
		{"SSLv3 only", config.TLSOptions{MinVer: config.SSLv3, MaxVer: config.SSLv3}, 0, 0, true},
	} {
		lo, hi, err := versionRange(c.o, config.TLSv12)
		if (err != nil) != c.err || lo != c.lo || hi != c.hi {
			t.Errorf("%s: got %x-%x err=%v, want %x-%x err=%v", c.name, lo, hi, err, c.lo, c.hi, c.err)
		}
	}
}

// TestServerConfigOptions: the bind's options reach the tls.Config, and a
// cipher string or suite list Go cannot honour is refused at build time.
func TestServerConfigOptions(t *testing.T) {
	ca := tlstest.NewCA(t)
	store, err := LoadStore([]string{ca.WritePEMFile(t, t.TempDir(), "site.pem", "site.test")})
	if err != nil {
		t.Fatal(err)
	}
	b := &config.Bind{Addr: ":443", TLS: config.TLSOptions{Ciphers: "ECDHE+AESGCM:!aNULL", Curves: "P-256", NoTLSTickets: true, MaxVer: config.TLSv12}}
	c, err := ServerConfig(store, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CipherSuites) != 4 || c.MaxVersion != tls.VersionTLS12 || !c.SessionTicketsDisabled || len(c.CurvePreferences) != 1 {
		t.Errorf("config not applied: %+v", c)
	}
	for _, o := range []config.TLSOptions{
		{Ciphers: "DHE-RSA-AES128-GCM-SHA256"},
		{CipherSuites: "TLS_AES_256_GCM_SHA384"},
		{Curves: "X448"},
		{ECDHE: "nosuch"},
		{NoVersions: 1<<config.TLSv12 | 1<<config.TLSv13},
	} {
		if _, err := ServerConfig(store, &config.Bind{Addr: ":443", TLS: o}); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
