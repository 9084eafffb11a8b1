package tlsconf

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

func loadCRLFile(path string) ([]*x509.RevocationList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("'crl-file' : unable to load %s", path)
	}
	var out []*x509.RevocationList
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("'crl-file' : invalid CRL in %s: %v", path, err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("'crl-file' : unable to load %s: no CRL found", path)
	}
	return out, nil
}

// crlCheck is the VerifyPeerCertificate of a bind with "crl-file": after
// Go verified the client's chain, every certificate of it must be covered
// by a CRL of its issuer that is current and does not list it, as OpenSSL
// checks with X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL (which
// HAProxy sets). Any failure aborts the handshake.
func crlCheck(crls []*x509.RevocationList, now func() time.Time) func([][]byte, [][]*x509.Certificate) error {
	return func(_ [][]byte, chains [][]*x509.Certificate) error {
		if len(chains) == 0 {
			return nil // no certificate (verify optional)
		}
		chain := chains[0]
		t := now()
		for i, c := range chain {
			issuer := c
			if i+1 < len(chain) {
				issuer = chain[i+1]
			}
			if err := revocation(crls, c, issuer, t); err != nil {
				return fmt.Errorf("tls: client certificate at depth %d: %w", i, err)
			}
		}
		return nil
	}
}

var (
	errNoCRL      = errors.New("unable to get certificate CRL")
	errCRLFuture  = errors.New("CRL is not yet valid")
	errCRLExpired = errors.New("CRL has expired")
	errRevoked    = errors.New("certificate revoked")
)

func revocation(crls []*x509.RevocationList, c, issuer *x509.Certificate, now time.Time) error {
	for _, crl := range crls {
		if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		switch {
		case now.Before(crl.ThisUpdate):
			return errCRLFuture
		case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
			return errCRLExpired
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return errRevoked
			}
		}
		return nil
	}
	return errNoCRL
}
