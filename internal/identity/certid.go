package identity

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// CertSubjectFields are the certificate fields "http-request
// client-cert-auth sub <field>" may take the subject from: the SPIFFE ID
// (the URI SAN with scheme spiffe; the default), the first URI SAN, DNS SAN
// or email SAN, or the subject's CN.
var CertSubjectFields = []string{"spiffe", "uri", "dns", "email", "cn"}

// FromCertificate is the identity a verified client certificate vouches
// for (chain leaf first, as presented), nil when the certificate lacks the
// field the subject comes from or is not valid at now (a connection can
// outlive the certificate it was verified with, and the token must not). The edge token's sub is the SPIFFE ID or
// URI as written, else "dns:", "email:" or "cn:" and the value: always a ':'
// before any '/', which an oidc identity's "<section>/<sub>" never has
// (section names cannot hold ':'), so the two kinds never share a sub.
//
// Its claims, for oidc_claim() and identity-token "claims": cert_subject
// and cert_issuer (RFC 2253 DNs), cert_serial (upper-case hex, as
// ssl_c_serial,hex), cert_uri, cert_dns, cert_email (the SANs, as lists),
// cert_not_after (seconds since the epoch) and cnf ({"x5t#S256": ...}, RFC
// 8705's certificate thumbprint). idp is the issuer DN, and the token
// never outlives the certificate.
func FromCertificate(chain []*x509.Certificate, field string, now time.Time) *Identity {
	if len(chain) == 0 {
		return nil
	}
	c := chain[0]
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil
	}
	var sub string
	switch field {
	case "spiffe", "":
		for _, u := range c.URIs {
			if strings.EqualFold(u.Scheme, "spiffe") && u.Host != "" {
				sub = u.String()
				break
			}
		}
	case "uri":
		if len(c.URIs) > 0 && c.URIs[0].Scheme != "" {
			sub = c.URIs[0].String()
		}
	case "dns":
		if len(c.DNSNames) > 0 {
			sub = "dns:" + c.DNSNames[0]
		}
	case "email":
		if len(c.EmailAddresses) > 0 {
			sub = "email:" + c.EmailAddresses[0]
		}
	case "cn":
		if c.Subject.CommonName != "" {
			sub = "cn:" + c.Subject.CommonName
		}
	}
	if sub == "" {
		return nil
	}
	uris := make([]string, len(c.URIs))
	for i, u := range c.URIs {
		uris[i] = u.String()
	}
	sum := sha256.Sum256(c.Raw)
	issuer := dnRFC2253(c.RawIssuer, c.Issuer)
	claims := map[string]json.RawMessage{
		"cert_subject":   jsonOf(dnRFC2253(c.RawSubject, c.Subject)),
		"cert_issuer":    jsonOf(issuer),
		"cert_serial":    jsonOf(fmt.Sprintf("%X", c.SerialNumber.Bytes())),
		"cert_uri":       jsonOf(uris),
		"cert_dns":       jsonOf(nonNil(c.DNSNames)),
		"cert_email":     jsonOf(nonNil(c.EmailAddresses)),
		"cert_not_after": jsonOf(c.NotAfter.Unix()),
		"cnf":            jsonOf(map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}),
	}
	id := newIdentity("", issuer, sub, c.NotAfter, claims)
	id.cert = true
	return id
}

func dnRFC2253(raw []byte, parsed pkix.Name) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) != 0 {
		return parsed.String()
	}
	return seq.String()
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v) // strings, numbers and lists of them
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CertIdentities keeps the identities of the certificates seen lately, so
// that a client's requests share one Identity and with it the edge token
// minted for it (signing is the expensive part of the hot path). Keyed by
// the SHA-256 of the leaf's DER: the identity is a function of the
// certificate alone. Bounded: when full, an arbitrary entry goes.
type CertIdentities struct {
	field string
	max   int
	mu    sync.Mutex
	m     map[[sha256.Size]byte]*Identity
}

// NewCertIdentities returns a cache of at most max identities whose
// subjects come from field.
func NewCertIdentities(field string, max int) *CertIdentities {
	return &CertIdentities{field: field, max: max, m: make(map[[sha256.Size]byte]*Identity)}
}

// Get returns the identity of chain at now, as FromCertificate does.
func (c *CertIdentities) Get(chain []*x509.Certificate, now time.Time) *Identity {
	if len(chain) == 0 {
		return nil
	}
	leaf := chain[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil
	}
	key := sha256.Sum256(leaf.Raw)
	c.mu.Lock()
	id, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return id // nil too: the certificate lacks the field
	}
	id = FromCertificate(chain, c.field, now)
	c.mu.Lock()
	if len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = id
	c.mu.Unlock()
	return id
}
