package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// ClientTemplate is the TLS side of one "server ... ssl" line: the trust
// anchors, the client certificate and ALPN, from which it builds one
// *tls.Config per SNI. All configs of a template share one session cache, so
// new connections to the gateway resume TLS sessions.
type ClientTemplate struct {
	host string // server host as written, the name verified without SNI
	// verifyHost ("verifyhost") replaces host as the name verified
	// without SNI, with HAProxy's matching (see hostMatches).
	verifyHost string
	verify     bool
	roots      *x509.CertPool
	cert       *tls.Certificate // nil: no client certificate
	certID     string
	alpn       []string
	sessions   tls.ClientSessionCache
	base       tls.Config // versions, suites, curves, tickets of the line

	configs    sync.Map // sni -> *tls.Config
	nconfigs   atomic.Int64
	maxConfigs int64
}

// ClientOption tunes NewClientTemplate.
type ClientOption func(*clientOptions)

type clientOptions struct {
	load          Options
	defaultVerify string
	sessionCache  int
	maxConfigs    int
}

// WithDefaultVerify sets the verification of servers without "verify": the
// value of the global "ssl-server-verify" ("required", HAProxy's default,
// or "none"; "" keeps the default).
func WithDefaultVerify(v string) ClientOption {
	return func(o *clientOptions) {
		if v != "" {
			o.defaultVerify = v
		}
	}
}

// WithLoadOptions sets how the "crt" file is read (global options such as
// ssl-skip-self-issued-ca).
func WithLoadOptions(lo Options) ClientOption {
	return func(o *clientOptions) { o.load = lo }
}

// WithSessionCacheSize sets how many TLS sessions the template keeps (one
// per SNI; default 256).
func WithSessionCacheSize(n int) ClientOption {
	return func(o *clientOptions) { o.sessionCache = n }
}

// WithMaxConfigs bounds how many per-SNI configs are cached (default 1024);
// past it, ForSNI builds a config for each call, still sharing the session
// cache.
func WithMaxConfigs(n int) ClientOption {
	return func(o *clientOptions) { o.maxConfigs = n }
}

// NewClientTemplate reads the TLS settings of srv: "verify" (default from
// ssl-server-verify, "required" unless told otherwise), "ca-file" (a PEM of
// CA certificates, or "@system-ca" for the system store), "crt" (a PEM with
// the client certificate and key, or a sidecar FILE.key) and "alpn".
//
// As HAProxy does at config check, verification without a ca-file is an
// error: name "ca-file @system-ca" to trust the system store, or say
// "verify none".
func NewClientTemplate(srv *config.Server, opts ...ClientOption) (*ClientTemplate, error) {
	o := clientOptions{defaultVerify: "required", sessionCache: 256, maxConfigs: 1024}
	for _, f := range opts {
		f(&o)
	}
	t := &ClientTemplate{
		host:       srv.Host,
		verifyHost: srv.VerifyHost,
		alpn:       append([]string(nil), srv.ALPN...),
		sessions:   tls.NewLRUClientSessionCache(o.sessionCache),
		maxConfigs: int64(o.maxConfigs),
	}
	if err := applyOptions(&t.base, srv.TLS, config.TLSv12); err != nil {
		return nil, config.Errorf(srv.Pos, "server '%s' : %v", srv.Name, err)
	}
	verify, byDefault := srv.Verify, false
	if verify == "" {
		verify, byDefault = o.defaultVerify, true
	}
	switch verify {
	case "none":
	case "required":
		t.verify = true
	default:
		return nil, config.Errorf(srv.Pos, "server '%s' : 'verify' expects 'none' or 'required', got '%s'", srv.Name, verify)
	}
	if srv.CAFile != "" {
		// Loaded with verify none too: HAProxy loads it as it parses.
		pool, err := loadCAFile(srv.CAFile)
		if err != nil {
			return nil, config.Errorf(srv.Pos, "server '%s' : %v", srv.Name, err)
		}
		if t.verify {
			t.roots = pool
		}
	}
	if t.verify {
		switch {
		case srv.CAFile != "":
		case byDefault:
			return nil, config.Errorf(srv.Pos, "server '%s' : verify is enabled by default but no CA file specified. "+
				"If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit "+
				"'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to "+
				"disable server-side verifications by default; to trust the system's CAs, use 'ca-file @system-ca'", srv.Name)
		default:
			return nil, config.Errorf(srv.Pos, "server '%s' : verify is enabled but no CA file specified "+
				"(use 'ca-file @system-ca' to trust the system's CAs)", srv.Name)
		}
	}
	if srv.Crt != "" {
		lc, _, err := loadCertFile(srv.Crt, o.load, time.Now())
		if err != nil {
			return nil, config.Errorf(srv.Pos, "server '%s' : %v", srv.Name, err)
		}
		t.cert = lc.cert
		sum := sha256.Sum256(lc.cert.Certificate[0])
		t.certID = hex.EncodeToString(sum[:16])
	}
	return t, nil
}

// ForSNI returns the config for connections sending sni ("" sends none).
// Configs are cached and shared: callers must not modify them (Clone first).
//
// With verification, the chain must lead to the ca-file and the certificate
// must name sni; without SNI, it must match "verifyhost" when set (HAProxy
// 2.6's rule: the SNI sent wins over verifyhost), or else name the server's
// host (its IP SANs when the host is an address; HAProxy checks no name
// there). With "verify none" nothing is checked.
func (t *ClientTemplate) ForSNI(sni string) *tls.Config {
	return t.lookup(sni, false)
}

// ForAutoSNI returns the config for connections sending sni taken from the
// request's Host because the server has no "sni" expression. HAProxy 2.6
// sends no SNI there, so with "verifyhost" the certificate must match
// verifyhost rather than sni; without it this is ForSNI.
func (t *ClientTemplate) ForAutoSNI(sni string) *tls.Config {
	return t.lookup(sni, t.verifyHost != "" && t.verify)
}

func (t *ClientTemplate) lookup(sni string, auto bool) *tls.Config {
	key := sni
	if auto {
		key = "\x00" + sni // no host name holds a NUL
	}
	if c, ok := t.configs.Load(key); ok {
		return c.(*tls.Config)
	}
	c := t.build(sni, auto)
	if t.nconfigs.Load() >= t.maxConfigs {
		return c
	}
	if v, loaded := t.configs.LoadOrStore(key, c); loaded {
		return v.(*tls.Config)
	}
	t.nconfigs.Add(1)
	return c
}

func (t *ClientTemplate) build(sni string, auto bool) *tls.Config {
	c := &tls.Config{
		MinVersion:             t.base.MinVersion,
		MaxVersion:             t.base.MaxVersion,
		CipherSuites:           t.base.CipherSuites,
		CurvePreferences:       t.base.CurvePreferences,
		SessionTicketsDisabled: t.base.SessionTicketsDisabled,
		ServerName:             sni,
		NextProtos:             slices.Clip(slices.Clone(t.alpn)),
		RootCAs:                t.roots,
		ClientSessionCache:     t.sessions,
	}
	if cert := t.cert; cert != nil {
		// Present the certificate whatever CAs the server asks for, as
		// OpenSSL does; Go's Certificates field would withhold it when the
		// server's acceptable CAs do not list its issuer.
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	switch {
	case !t.verify:
		c.InsecureSkipVerify = true
	case t.verifyHost != "" && (sni == "" || auto):
		c.InsecureSkipVerify = true
		c.VerifyConnection = verifyHost(t.roots, t.verifyHost)
	case sni != "":
		// Standard verification: chain to RootCAs, name == ServerName.
	default:
		host := strings.TrimSuffix(strings.TrimPrefix(t.host, "["), "]")
		if _, err := netip.ParseAddr(host); err == nil {
			// Go sends no SNI for an IP and checks the IP SANs.
			c.ServerName = host
			break
		}
		// No SNI to send, but the certificate must still name the host:
		// verify by hand (this also runs on resumed sessions).
		c.InsecureSkipVerify = true
		c.VerifyConnection = verifyName(t.roots, t.host)
	}
	return c
}

func verifyName(roots *x509.CertPool, name string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if name == "" {
			return errors.New("tls: no SNI and no server host name to verify the certificate against")
		}
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			DNSName:       name,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("tls: failed to verify certificate: %w", err)
		}
		return nil
	}
}

// ClientCertID identifies the client certificate ("" when none), for
// connection pool keys.
func (t *ClientTemplate) ClientCertID() string { return t.certID }

// Verifies reports whether server certificates are verified.
func (t *ClientTemplate) Verifies() bool { return t.verify }

// ALPN returns the protocols offered to the server, in order.
func (t *ClientTemplate) ALPN() []string { return append([]string(nil), t.alpn...) }
