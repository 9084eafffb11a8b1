package identity

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// XFCCHeader is Envoy's X-Forwarded-Client-Cert: what the edge tells the
// mesh about the client certificate it verified.
const XFCCHeader = "X-Forwarded-Client-Cert"

// XFCCFields are the optional fields of the element the edge sets, as
// Envoy's set_current_client_cert_details names them; Hash is always there.
type XFCCFields uint8

const (
	XFCCCert XFCCFields = 1 << iota
	XFCCChain
	XFCCSubject
	XFCCURI
	XFCCDNS
)

// XFCCFieldNames maps the configuration's words to the fields.
var XFCCFieldNames = map[string]XFCCFields{
	"cert": XFCCCert, "chain": XFCCChain, "subject": XFCCSubject, "uri": XFCCURI, "dns": XFCCDNS,
}

// XFCC formats the element for a verified client chain (leaf first, as the
// client presented it) the way Envoy's SANITIZE_SET does: Hash, then Cert,
// Chain, Subject, URI and DNS when asked for, joined by ';'. Hash is the
// lower-case hex SHA-256 of the leaf's DER; Cert and Chain are URL-encoded
// PEM, quoted; Subject is the RFC 2253 DN, always quoted; URI and DNS repeat
// once per SAN ("URI=" stays when there is none, as in Envoy). A URI or DNS
// value holding ',', ';', '=' or '"' is quoted, as the format requires, so a
// certificate cannot add fields of its own.
func XFCC(chain []*x509.Certificate, f XFCCFields) string {
	if len(chain) == 0 {
		return ""
	}
	leaf := chain[0]
	sum := sha256.Sum256(leaf.Raw)
	var b strings.Builder
	b.WriteString("Hash=")
	b.WriteString(hex.EncodeToString(sum[:]))
	if f&XFCCCert != 0 {
		b.WriteString(`;Cert="`)
		writeURLPEM(&b, leaf)
		b.WriteByte('"')
	}
	if f&XFCCChain != 0 {
		b.WriteString(`;Chain="`)
		for _, c := range chain {
			writeURLPEM(&b, c)
		}
		b.WriteByte('"')
	}
	if f&XFCCSubject != 0 {
		// RFC 2253 already escapes '"' and '\' with '\', as XFCC wants.
		b.WriteString(`;Subject="`)
		b.WriteString(subjectRFC2253(leaf))
		b.WriteByte('"')
	}
	if f&XFCCURI != 0 {
		if len(leaf.URIs) == 0 {
			b.WriteString(";URI=")
		}
		for _, u := range leaf.URIs {
			b.WriteString(";URI=")
			writeValue(&b, u.String())
		}
	}
	if f&XFCCDNS != 0 {
		for _, d := range leaf.DNSNames {
			b.WriteString(";DNS=")
			writeValue(&b, d)
		}
	}
	return b.String()
}

// subjectRFC2253 renders the subject as OpenSSL's XN_FLAG_RFC2253 does
// (last RDN first), from the DER so every attribute is kept.
func subjectRFC2253(c *x509.Certificate) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(c.RawSubject, &seq); err != nil || len(rest) != 0 {
		return c.Subject.String()
	}
	return seq.String()
}

// urlPEM is Envoy's encoding of a PEM certificate in XFCC.
var urlPEM = strings.NewReplacer("\n", "%0A", " ", "%20", "+", "%2B", "/", "%2F", "=", "%3D")

func writeURLPEM(b *strings.Builder, c *x509.Certificate) {
	urlPEM.WriteString(b, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
}

// writeValue writes v bare, or quoted when it holds a separator.
func writeValue(b *strings.Builder, v string) {
	if strings.ContainsAny(v, `,;="\`) {
		writeQuoted(b, v)
		return
	}
	b.WriteString(v)
}

// writeQuoted writes v in double quotes, '"' and '\' escaped by '\'.
func writeQuoted(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

// IsXFCC reports whether a client-sent header named name could pass for
// X-Forwarded-Client-Cert ('_' and '.' count as '-', case does not matter).
func IsXFCC(name string) bool {
	const n = "x-forwarded-client-cert"
	return len(name) == len(n) && normEqualPrefix(name, n)
}

// StripXFCC removes every header that could pass for
// X-Forwarded-Client-Cert from h, in place: only the edge, which verified
// the certificate, may say what it was. It does not allocate.
func StripXFCC(h *httpmsg.Headers) {
	s := *h
	j := 0
	for i := range s {
		if !IsXFCC(s[i].Name) {
			s[j] = s[i]
			j++
		}
	}
	clear(s[j:])
	*h = s[:j]
}
