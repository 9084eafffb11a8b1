package tlsconf

import (
	"bytes"
	"crypto/x509"
)

// noRootChain is chain (leaf first, DER) as "ssl-skip-self-issued-ca" sends
// it: the path from leaf up through the file's other certificates (each
// the issuer of the one before, by name and signature), without its top
// when that is self-signed. This is what OpenSSL's SSL_CTX_build_cert_chain
// with NO_ROOT|UNTRUSTED|IGNORE_ERROR, which HAProxy calls, leaves: the
// root stays in the file (e.g. as OCSP issuer) but is not sent, and
// certificates off the path are dropped. A self-signed leaf is kept.
func noRootChain(leaf *x509.Certificate, chain [][]byte) [][]byte {
	rest := make([]*x509.Certificate, 0, len(chain)-1)
	for _, der := range chain[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return chain // loadCertFile refused it already
		}
		rest = append(rest, c)
	}
	out := [][]byte{chain[0]}
	used := make([]bool, len(rest))
	cur := leaf
	for !selfSigned(cur) {
		next := -1
		for i, c := range rest {
			if !used[i] && bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		cur = rest[next]
		out = append(out, chain[next+1])
	}
	if len(out) > 1 && selfSigned(cur) {
		out = out[:len(out)-1]
	}
	return out
}

// selfSigned is OpenSSL's EXFLAG_SS test: issuer and subject names equal,
// and the authority key id, if any, is the certificate's own key id.
func selfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawSubject, c.RawIssuer) {
		return false
	}
	return len(c.AuthorityKeyId) == 0 || len(c.SubjectKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}
