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
	order       []uint16 // allowed TLS <= 1.2 suites, server preference first
	clientFirst bool
	curves      []tls.CurveID
}

// goDefaultCiphers is Go's default TLS 1.2 suite set, in OpenSSL's order,
// used for the preference when no "ciphers" is given.
const goDefaultCiphers = "DEFAULT:!kRSA:!SHA256"

// tls12Curves are the groups Go offers for TLS 1.2 ECDHE by default.
var tls12Curves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

func newSuitePicker(base *tls.Config, clientFirst bool) *suitePicker {
	p := &suitePicker{base: base, order: base.CipherSuites, clientFirst: clientFirst, curves: base.CurvePreferences}
	if len(p.order) == 0 {
		p.order, _ = ParseCipherString(goDefaultCiphers)
	}
	if len(p.curves) == 0 {
		p.curves = tls12Curves
	}
	return p
}

// configFor is the GetConfigForClient of the bind: nil (the base config)
// unless TLS 1.2 or below will be negotiated and a suite can be chosen.
func (p *suitePicker) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	v := uint16(0)
	for w := p.base.MaxVersion; w >= p.base.MinVersion && w >= tls.VersionTLS10; w-- {
		if slices.Contains(hello.SupportedVersions, w) {
			v = w
			break
		}
	}
	if v == 0 || v >= tls.VersionTLS13 {
		return nil, nil
	}
	cert, err := p.base.GetCertificate(hello)
	if err != nil || cert == nil {
		return nil, nil // Go reports the failure itself
	}
	ecSign, rsaSign := false, false
	switch pub := cert.PrivateKey.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey:
		ecSign = true
	case *rsa.PrivateKey:
		rsaSign = true
	default:
		_ = pub
		return nil, nil
	}
	ecdheOK := len(hello.SupportedPoints) == 0 || slices.Contains(hello.SupportedPoints, 0)
	if ecdheOK {
		ecdheOK = false
		for _, c := range hello.SupportedCurves {
			if slices.Contains(p.curves, c) {
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
	first, second := p.order, hello.CipherSuites
	if p.clientFirst {
		first, second = second, first
	}
	for _, id := range first {
		if slices.Contains(second, id) && usable(id) {
			c := p.base.Clone()
			c.CipherSuites = []uint16{id}
			c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
			c.GetConfigForClient = nil
			return c, nil
		}
	}
	return nil, nil
}
