package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// ServerConfig builds the TLS configuration of an "ssl" bind line whose
// certificates are in store.
//
//   - Versions, TLS 1.2 suites, curves and tickets from the line's TLS
//     options (global defaults merged in): TLS 1.2 minimum unless told
//     otherwise (HAProxy's default ssl-min-ver), Go's default suites and
//     curves when none are given.
//   - strict-sni: a handshake whose SNI names no certificate is refused.
//   - TLS 1.2 suites are chosen in the server's order, or the client's with
//     prefer-client-ciphers, as OpenSSL chooses them (see suitePicker).
//   - ALPN: the protocols of "alpn", in order; none advertised by default, so
//     clients speak HTTP/1.1.
//   - "verify none" (the default): no client certificate requested;
//     "verify optional": requested, verified against "ca-file" when given;
//     "verify required": demanded and verified. optional and required need a
//     "ca-file" or a "ca-verify-file", as in HAProxy. The request names the
//     subjects of ca-file, none with "no-ca-names"; ca-verify-file's CAs
//     verify without being named.
//   - Session tickets on, with Go's automatic key rotation.
//   - The certificate is chosen per handshake by store.GetCertificate, so a
//     reloaded store serves its new certificates to new handshakes.
func ServerConfig(store *Store, bind *config.Bind) (*tls.Config, error) {
	name := bind.Name
	if name == "" {
		name = bind.Addr
	}
	if store == nil {
		return nil, config.Errorf(bind.Pos, "bind '%s' : 'ssl' needs at least one 'crt'", name)
	}
	c := &tls.Config{
		GetCertificate: store.GetCertificate,
		NextProtos:     append([]string(nil), bind.ALPN...),
	}
	if bind.StrictSNI {
		c.GetCertificate = store.getStrict
	}
	if err := applyOptions(c, bind.TLS, config.TLSv12); err != nil {
		return nil, config.Errorf(bind.Pos, "bind '%s' : %v", name, err)
	}
	if err := applyTickets(c, bind.TLS); err != nil {
		return nil, config.Errorf(bind.Pos, "bind '%s' : 'tls-ticket-keys' : %v", name, err)
	}
	// HAProxy loads the CA files as it parses them, whatever "verify"
	// says: an unreadable one is an error even unused.
	var caPool *x509.CertPool
	if bind.CAFile != "" {
		pool, err := loadCAFile(bind.CAFile)
		if err != nil {
			return nil, config.Errorf(bind.Pos, "bind '%s' : 'ca-file' : %v", name, err)
		}
		caPool = pool
	}
	if bind.CAVerifyFile != "" && bind.CAVerifyFile != "@system-ca" {
		if _, err := readCAFile(bind.CAVerifyFile); err != nil {
			return nil, config.Errorf(bind.Pos, "bind '%s' : 'ca-verify-file' : %v", name, err)
		}
	}
	switch bind.Verify {
	case "", "none":
		c.ClientAuth = tls.NoClientCert
	case "optional", "required":
		if bind.CAFile == "" && bind.CAVerifyFile == "" {
			return nil, config.Errorf(bind.Pos, "bind '%s' : verify is enabled but no CA file specified", name)
		}
		// Go names the subjects of ClientCAs in the certificate request:
		// those of ca-file only, none with no-ca-names.
		if caPool != nil && !bind.NoCANames {
			c.ClientCAs = caPool
		}
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if bind.Verify == "required" {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
		if v, err := NewClientVerifier(bind); err != nil {
			return nil, config.Errorf(bind.Pos, "bind '%s' : %v", name, err)
		} else if v != nil {
			// Errors may be ignored, or the trust store is not ClientCAs:
			// verify by hand, as OpenSSL does.
			c.ClientAuth = tls.RequestClientCert
			if bind.Verify == "required" {
				c.ClientAuth = tls.RequireAnyClientCert
			}
			c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				_, err := v.check(raw)
				return err
			}
		} else if bind.TLS.CRLFile != "" {
			crls, err := loadCRLFile(bind.TLS.CRLFile)
			if err != nil {
				return nil, config.Errorf(bind.Pos, "bind '%s' : %v", name, err)
			}
			c.VerifyPeerCertificate = crlCheck(crls, func() time.Time {
				if c.Time != nil {
					return c.Time()
				}
				return time.Now()
			})
		}
	default:
		return nil, config.Errorf(bind.Pos, "bind '%s' : 'verify' expects 'none', 'optional' or 'required', got '%s'", name, bind.Verify)
	}
	// Last, so that the picker clones the finished config.
	c.GetConfigForClient = newSuitePicker(c, store, bind.StrictSNI, bind.TLS.PreferClientCiphers).configFor
	return c, nil
}
