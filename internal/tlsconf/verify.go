package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
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

// OpenSSL's X509_V_ERR codes, as ssl_c_verify, ssl_c_err, ssl_c_ca_err,
// ca-ignore-err and crt-ignore-err number them.
const (
	errUnableToGetCRL        = 3
	errCertSignatureFailure  = 7
	errCertNotYetValid       = 9
	errCertHasExpired        = 10
	errCRLNotYetValid        = 11
	errCRLHasExpired         = 12
	errDepthZeroSelfSigned   = 18
	errUnableToGetIssuerCert = 20
	errCertRevoked           = 23
	errInvalidPurpose        = 26
	errCertRejected          = 28
)

// VerifyResult is what ssl_c_verify, ssl_c_err and ssl_c_ca_err report.
// Verified: the client presented a certificate whose chain verified
// against the bind's CAs (and CRLs) with no error, ignored or not; only
// such a certificate may vouch for the client's identity.
type VerifyResult struct {
	Verify, CrtErr, CAErr int64
	Verified              bool
}

// ClientVerifier verifies client certificates the way OpenSSL does on a
// bind with "ca-ignore-err" / "crt-ignore-err": an error at depth > 0 /
// depth 0 listed there does not abort the handshake, and the connection's
// results (Result) tell the rules what was found. Errors map to OpenSSL's
// codes: unknown issuer 20 (18 for a self-signed certificate), expired 10,
// not yet valid 9, wrong purpose 26, CRL missing 3, CRL not yet valid 11,
// CRL expired 12, revoked 23, other failures 28.
type ClientVerifier struct {
	roots            *x509.CertPool
	crls             []*x509.RevocationList
	caIgnore, crtIgn uint64
	now              func() time.Time
}

// NewClientVerifier returns the verifier of a bind whose errors may be
// ignored or whose trust store is not what its certificate request names
// ("ca-verify-file", "no-ca-names"); nil for binds where Go's own
// verification (and crl-file) apply. Its roots are ca-file and
// ca-verify-file together.
func NewClientVerifier(bind *config.Bind) (*ClientVerifier, error) {
	if bind.Verify != "optional" && bind.Verify != "required" {
		return nil, nil
	}
	if bind.TLS.CAIgnoreErr == 0 && bind.TLS.CrtIgnoreErr == 0 && bind.CAVerifyFile == "" && !bind.NoCANames {
		return nil, nil
	}
	if bind.CAFile == "" && bind.CAVerifyFile == "" {
		return nil, fmt.Errorf("verify is enabled but no CA file specified")
	}
	roots, err := loadVerifyCAs(bind.CAFile, bind.CAVerifyFile)
	if err != nil {
		return nil, err
	}
	v := &ClientVerifier{roots: roots, caIgnore: bind.TLS.CAIgnoreErr, crtIgn: bind.TLS.CrtIgnoreErr, now: time.Now}
	if bind.TLS.CRLFile != "" {
		if v.crls, err = loadCRLFile(bind.TLS.CRLFile); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Result re-runs the verification of a connection's certificate chain for
// the fetches; all zero without a certificate. A nil verifier (a bind
// where Go verified the chain in the handshake, or asked for none) reports
// Verified when Go built a verified chain.
func (v *ClientVerifier) Result(st *tls.ConnectionState) VerifyResult {
	if st == nil || len(st.PeerCertificates) == 0 {
		return VerifyResult{}
	}
	if v == nil {
		return VerifyResult{Verified: len(st.VerifiedChains) > 0}
	}
	raw := make([][]byte, len(st.PeerCertificates))
	for i, c := range st.PeerCertificates {
		raw[i] = c.Raw
	}
	res, err := v.check(raw)
	res.Verified = err == nil && res.Verify == 0
	return res
}

// check verifies a presented chain: err is non-nil when an error that is
// not ignored aborts the handshake.
func (v *ClientVerifier) check(raw [][]byte) (res VerifyResult, err error) {
	if len(raw) == 0 {
		return res, nil
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		if certs[i], err = x509.ParseCertificate(r); err != nil {
			return res, fmt.Errorf("tls: bad client certificate: %w", err)
		}
	}
	now := v.now()
	record := func(code, depth int) error {
		res.Verify = int64(code)
		ignore := v.crtIgn
		if depth > 0 {
			if res.CAErr == 0 {
				res.CAErr = int64(code)
			}
			ignore = v.caIgnore
		} else if res.CrtErr == 0 {
			res.CrtErr = int64(code)
		}
		if code < 64 && ignore&(1<<code) != 0 {
			return nil
		}
		return fmt.Errorf("tls: client certificate verification failed at depth %d: X509 error %d", depth, code)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, verr := certs[0].Verify(x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if verr != nil {
		code, depth := errCertRejected, 0
		var ua x509.UnknownAuthorityError
		var ci x509.CertificateInvalidError
		switch {
		case errors.As(verr, &ua):
			code = errUnableToGetIssuerCert
			if len(certs) == 1 && bytes.Equal(certs[0].RawIssuer, certs[0].RawSubject) {
				code = errDepthZeroSelfSigned
			}
		case errors.As(verr, &ci) && ci.Reason == x509.Expired:
			code, depth = errCertHasExpired, chainDepth(certs, ci.Cert)
			if ci.Cert != nil && now.Before(ci.Cert.NotBefore) {
				code = errCertNotYetValid
			}
		case errors.As(verr, &ci) && ci.Reason == x509.IncompatibleUsage:
			code = errInvalidPurpose
		case errors.Is(verr, x509.ErrUnsupportedAlgorithm):
			code = errCertSignatureFailure
		}
		// Ignored or not, there is no chain to check revocation against.
		return res, record(code, depth)
	}
	if v.crls != nil {
		chain := chains[0]
		for i, c := range chain {
			issuer := c
			if i+1 < len(chain) {
				issuer = chain[i+1]
			}
			code := 0
			switch revocation(v.crls, c, issuer, now) {
			case errNoCRL:
				code = errUnableToGetCRL
			case errCRLFuture:
				code = errCRLNotYetValid
			case errCRLExpired:
				code = errCRLHasExpired
			case errRevoked:
				code = errCertRevoked
			}
			if code != 0 {
				if err := record(code, i); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

func chainDepth(certs []*x509.Certificate, c *x509.Certificate) int {
	for i, x := range certs {
		if c != nil && bytes.Equal(x.Raw, c.Raw) {
			return i
		}
	}
	return len(certs)
}
