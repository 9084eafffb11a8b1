package acl

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"

	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// The client-certificate (ssl_c_*) and TLS session (ssl_fc_*) fetches read
// the connection state the proxy puts in Txn.TLSState, in HAProxy's forms:
// DNs as "/C=../O=../CN=.." (or RFC 2253), dates as YYMMDDhhmmssZ, OpenSSL's
// algorithm and cipher names, binary serial, SHA-1 and DER.
func sslFetches() []fetchDef {
	return []fetchDef{
		{name: "ssl_c_used", out: tBool, need: NeedTLS, fn: fetchSSLCUsed, doc: "true when the client presented a certificate"},
		{name: "ssl_c_verify", out: tInt, need: NeedTLS, fn: fetchSSLCVerify, doc: "the verification result of the client certificate (0: no error; OpenSSL's X509_V_ERR codes otherwise)"},
		{name: "ssl_c_err", out: tInt, need: NeedTLS, fn: fetchSSLCErr, doc: "the first verification error at depth 0 (0: none)"},
		{name: "ssl_c_ca_err", out: tInt, need: NeedTLS, fn: fetchSSLCCAErr, doc: "the first verification error above depth 0 (0: none)"},
		{name: "ssl_c_s_dn", args: "SIS", out: tStr, need: NeedTLS, fn: fetchSSLCSDN, doc: "the client certificate's subject DN, or one entry of it: ssl_c_s_dn(CN), ssl_c_s_dn(OU,2), ssl_c_s_dn(,0,rfc2253)"},
		{name: "ssl_c_i_dn", args: "SIS", out: tStr, need: NeedTLS, fn: fetchSSLCIDN, doc: "the client certificate's issuer DN, or one entry of it (as ssl_c_s_dn)"},
		{name: "ssl_c_serial", out: tBin, need: NeedTLS, fn: fetchSSLCSerial, doc: "the client certificate's serial number (binary; use ,hex)"},
		{name: "ssl_c_sha1", out: tBin, need: NeedTLS, fn: fetchSSLCSHA1, doc: "the SHA-1 fingerprint of the client certificate (binary; use ,hex)"},
		{name: "ssl_c_der", out: tBin, need: NeedTLS, fn: fetchSSLCDER, doc: "the client certificate in DER (binary; use ,base64)"},
		{name: "ssl_c_notafter", out: tStr, need: NeedTLS, fn: fetchSSLCNotAfter, doc: "the client certificate's end date, YYMMDDhhmmssZ"},
		{name: "ssl_c_notbefore", out: tStr, need: NeedTLS, fn: fetchSSLCNotBefore, doc: "the client certificate's start date, YYMMDDhhmmssZ"},
		{name: "ssl_c_version", out: tInt, need: NeedTLS, fn: fetchSSLCVersion, doc: "the client certificate's X.509 version (3)"},
		{name: "ssl_c_sig_alg", out: tStr, need: NeedTLS, fn: fetchSSLCSigAlg, doc: "the client certificate's signature algorithm, e.g. ecdsa-with-SHA256"},
		{name: "ssl_c_key_alg", out: tStr, need: NeedTLS, fn: fetchSSLCKeyAlg, doc: "the client certificate's key algorithm, e.g. rsaEncryption"},
		{name: "ssl_fc_has_crt", out: tBool, need: NeedTLS, fn: fetchSSLCUsed, doc: "true when the client presented a certificate on this connection"},
		{name: "ssl_fc_cipher", out: tStr, need: NeedTLS, fn: fetchSSLFCCipher, doc: "the cipher suite, in OpenSSL's name (e.g. ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256)"},
		{name: "ssl_fc_is_resumed", out: tBool, need: NeedTLS, fn: fetchSSLFCResumed, doc: "true when the TLS session was resumed"},
		{name: "ssl_fc_use_keysize", out: tInt, need: NeedTLS, fn: fetchSSLFCKeySize, doc: "the symmetric key size of the cipher, in bits"},
		{name: "ssl_fc_alg_keysize", out: tInt, need: NeedTLS, fn: fetchSSLFCKeySize, doc: "the symmetric key size the cipher supports, in bits"},
	}
}

// clientCert is the client's certificate, nil when none.
func clientCert(t *Txn) *x509.Certificate {
	if !t.TLS || t.TLSState == nil || len(t.TLSState.PeerCertificates) == 0 {
		return nil
	}
	return t.TLSState.PeerCertificates[0]
}

func none() (sample, cursor, fres) { return sample{}, cursor{}, fNone }

func fetchSSLCUsed(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return none()
	}
	return boolSmp(clientCert(t) != nil), cursor{}, fVal
}

func fetchSSLCVerify(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return none()
	}
	return intSmp(t.ClientVerify), cursor{}, fVal
}

func fetchSSLCErr(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return none()
	}
	return intSmp(t.ClientCrtErr), cursor{}, fVal
}

func fetchSSLCCAErr(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return none()
	}
	return intSmp(t.ClientCAErr), cursor{}, fVal
}

func fetchSSLCSDN(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return dnSample(t, c.RawSubject, c.Subject, a)
}

func fetchSSLCIDN(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return dnSample(t, c.RawIssuer, c.Issuer, a)
}

// dnSample renders a DN as HAProxy's ssl_sock_get_dn_oneline ("/C=FR/CN=x",
// the certificate's order), ssl_sock_get_dn_formatted (rfc2253) or one
// entry (ssl_sock_get_dn_entry: by short name, <occ> from the start, or
// from the end when negative).
func dnSample(t *Txn, raw []byte, name pkix.Name, a *fetchArgs) (sample, cursor, fres) {
	entry, format := a.str[0], a.str[2]
	occ := a.num[1]
	if a.n < 2 {
		occ = 1
	}
	if entry == "" {
		if format == "rfc2253" {
			var seq pkix.RDNSequence
			if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) != 0 {
				return none()
			}
			return strOrNone(seq.String())
		}
		if format != "" {
			return none()
		}
		b := t.fbuf[:0]
		for _, n := range name.Names {
			b = append(b, '/')
			b = append(b, oidShortName(n.Type)...)
			b = append(b, '=')
			b = append(b, attrString(n.Value)...)
		}
		t.fbuf = b
		return strOrNone(string(b))
	}
	var vals []string
	for _, n := range name.Names {
		if strings.EqualFold(oidShortName(n.Type), entry) {
			vals = append(vals, attrString(n.Value))
		}
	}
	switch {
	case occ > 0 && int(occ) <= len(vals):
		return strSmp(vals[occ-1]), cursor{}, fVal
	case occ < 0 && int(-occ) <= len(vals):
		return strSmp(vals[len(vals)+int(occ)]), cursor{}, fVal
	}
	return none()
}

func attrString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// oidShortName is OpenSSL's short name of a DN attribute (OBJ_nid2sn),
// the dotted OID when OpenSSL has none.
func oidShortName(oid asn1.ObjectIdentifier) string {
	if n, ok := dnShortNames[oid.String()]; ok {
		return n
	}
	return oid.String()
}

var dnShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
	"2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title", "2.5.4.13": "description",
	"2.5.4.15": "businessCategory", "2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.43": "initials",
	"2.5.4.44": "generationQualifier", "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

func fetchSSLCSerial(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil || c.SerialNumber == nil {
		return none()
	}
	// The DER INTEGER's content octets, as OpenSSL's i2d minus the header.
	b, err := asn1.Marshal(c.SerialNumber)
	if err != nil || len(b) < 2 {
		return none()
	}
	hdr := 2
	if b[1]&0x80 != 0 {
		hdr += int(b[1] & 0x7f)
	}
	return sample{typ: tBin, s: string(b[hdr:])}, cursor{}, fVal
}

func fetchSSLCSHA1(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	sum := sha1.Sum(c.Raw)
	return sample{typ: tBin, s: string(sum[:])}, cursor{}, fVal
}

func fetchSSLCDER(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return sample{typ: tBin, s: string(c.Raw)}, cursor{}, fVal
}

func fetchSSLCNotAfter(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return strSmp(c.NotAfter.UTC().Format("060102150405Z")), cursor{}, fVal
}

func fetchSSLCNotBefore(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return strSmp(c.NotBefore.UTC().Format("060102150405Z")), cursor{}, fVal
}

func fetchSSLCVersion(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return intSmp(int64(c.Version)), cursor{}, fVal
}

var sigAlgNames = map[x509.SignatureAlgorithm]string{
	x509.SHA1WithRSA: "sha1WithRSAEncryption", x509.SHA256WithRSA: "sha256WithRSAEncryption",
	x509.SHA384WithRSA: "sha384WithRSAEncryption", x509.SHA512WithRSA: "sha512WithRSAEncryption",
	x509.ECDSAWithSHA1: "ecdsa-with-SHA1", x509.ECDSAWithSHA256: "ecdsa-with-SHA256",
	x509.ECDSAWithSHA384: "ecdsa-with-SHA384", x509.ECDSAWithSHA512: "ecdsa-with-SHA512",
	x509.SHA256WithRSAPSS: "rsassaPss", x509.SHA384WithRSAPSS: "rsassaPss", x509.SHA512WithRSAPSS: "rsassaPss",
	x509.PureEd25519: "ED25519",
}

func fetchSSLCSigAlg(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	return strOrNone(sigAlgNames[c.SignatureAlgorithm])
}

func fetchSSLCKeyAlg(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	c := clientCert(t)
	if c == nil {
		return none()
	}
	switch c.PublicKeyAlgorithm {
	case x509.RSA:
		return strSmp("rsaEncryption"), cursor{}, fVal
	case x509.ECDSA:
		return strSmp("id-ecPublicKey"), cursor{}, fVal
	case x509.Ed25519:
		return strSmp("ED25519"), cursor{}, fVal
	}
	return none()
}

func fetchSSLFCCipher(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS || t.TLSState == nil {
		return none()
	}
	return strOrNone(tlsconf.CipherName(t.TLSState.CipherSuite))
}

func fetchSSLFCResumed(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS || t.TLSState == nil {
		return none()
	}
	return boolSmp(t.TLSState.DidResume), cursor{}, fVal
}

func fetchSSLFCKeySize(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS || t.TLSState == nil {
		return none()
	}
	n := tlsconf.CipherKeyBits(t.TLSState.CipherSuite)
	if n == 0 {
		return none()
	}
	return intSmp(int64(n)), cursor{}, fVal
}
