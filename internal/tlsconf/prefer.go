package tlsconf

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"slices"
)

// Go's TLS server ignores the order of Config.CipherSuites and picks by its
// own preference. HAProxy (OpenSSL with SSL_OP_CIPHER_SERVER_PREFERENCE)
// takes the first suite of its own list that the client offers, or, with
// "prefer-client-ciphers", the first of the client's. suitePicker restores
// that for TLS 1.2 and below: per handshake it computes the suite OpenSSL
// would choose and hands Go a config allowing only that one. TLS 1.3 suites
// are Go's to choose (they cannot be configured).
type suitePicker struct {
	base        *tls.Config
	store       *Store
	strict      bool
	clientFirst bool
}

// goDefaultCiphers is Go's default TLS 1.2 suite set, in OpenSSL's order,
// used for the preference when no "ciphers" is given.
const goDefaultCiphers = "DEFAULT:!kRSA:!SHA256"

// tls12Curves are the groups Go offers for TLS 1.2 ECDHE by default.
var tls12Curves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

var goDefaultOrder, _ = ParseCipherString(goDefaultCiphers)

func newSuitePicker(base *tls.Config, store *Store, strict, clientFirst bool) *suitePicker {
	return &suitePicker{base: base, store: store, strict: strict, clientFirst: clientFirst}
}

// configFor is the GetConfigForClient of a bind: the certificate the SNI
// selects, with its crt-list line's options, and the TLS 1.2 suite OpenSSL
// would choose. nil keeps the base config.
func (p *suitePicker) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	lc := p.store.lookup(hello, p.strict)
	if lc == nil {
		return nil, nil // strict-sni: the base config refuses the handshake
	}
	cfg := p.base
	if lc.delta != nil {
		cfg = lc.delta.apply(p.base, lc.cert)
	}
	if id := pickSuite(cfg, p.clientFirst, hello, lc.cert); id != 0 {
		if cfg == p.base {
			cfg = p.base.Clone()
			cert := lc.cert
			cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
			cfg.GetConfigForClient = nil
		}
		cfg.CipherSuites = []uint16{id}
	}
	if cfg == p.base {
		return nil, nil
	}
	return cfg, nil
}

// pickSuite is the TLS <= 1.2 suite OpenSSL would choose with cfg's suites
// for this client and certificate; 0 when TLS 1.3 will be negotiated or
// nothing fits (Go then decides, or fails as OpenSSL would).
func pickSuite(cfg *tls.Config, clientFirst bool, hello *tls.ClientHelloInfo, cert *tls.Certificate) uint16 {
	order, curves := cfg.CipherSuites, cfg.CurvePreferences
	if len(order) == 0 {
		order = goDefaultOrder
	}
	if len(curves) == 0 {
		curves = tls12Curves
	}
	v := uint16(0)
	for w := cfg.MaxVersion; w >= cfg.MinVersion && w >= tls.VersionTLS10; w-- {
		if slices.Contains(hello.SupportedVersions, w) {
			v = w
			break
		}
	}
	if v == 0 || v >= tls.VersionTLS13 {
		return 0
	}
	ecSign, rsaSign := false, false
	switch pub := cert.PrivateKey.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey:
		ecSign = true
	case *rsa.PrivateKey:
		rsaSign = true
	default:
		_ = pub
		return 0
	}
	ecdheOK := len(hello.SupportedPoints) == 0 || slices.Contains(hello.SupportedPoints, 0)
	if ecdheOK {
		ecdheOK = false
		for _, c := range hello.SupportedCurves {
			if slices.Contains(curves, c) {
				ecdheOK = true
				break
			}
		}
	}
	usable := func(id uint16) bool {
		var info *cipherInfo
		for i := range goCiphers {
			if goCiphers[i].id == id {
				info = &goCiphers[i]
			}
		}
		switch {
		case info == nil,
			info.minTLS == verTLS12 && v < tls.VersionTLS12,
			info.mkey == kECDHE && !ecdheOK,
			info.auth == aECDSA && !ecSign,
			info.auth == aRSA && !rsaSign:
			return false
		}
		return true
	}
	first, second := order, hello.CipherSuites
	if clientFirst {
		first, second = second, first
	}
	for _, id := range first {
		if slices.Contains(second, id) && usable(id) {
			return id
		}
	}
	return 0
}
