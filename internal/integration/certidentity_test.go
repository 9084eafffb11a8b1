package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// verifyES256 checks a compact JWS against an ES256 key of a JWKS by hand
// (crypto/ecdsa, no JOSE library: independent of the one that signed) and
// returns its claims.
func verifyES256(t *testing.T, jwks []byte, tok string) map[string]any {
	t.Helper()
	var set struct {
		Keys []struct{ Kty, Crv, X, Y, Kid, Alg string } `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64url %q: %v", s, err)
		}
		return b
	}
	var hdr struct{ Alg, Kid, Typ string }
	if err := json.Unmarshal(dec(parts[0]), &hdr); err != nil || hdr.Alg != "ES256" {
		t.Fatalf("header %+v: %v", hdr, err)
	}
	sig := dec(parts[2])
	if len(sig) != 64 {
		t.Fatalf("ES256 signature of %d bytes", len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	for _, k := range set.Keys {
		if k.Kid != hdr.Kid || k.Kty != "EC" || k.Crv != "P-256" {
			continue
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(dec(k.X)), Y: new(big.Int).SetBytes(dec(k.Y))}
		if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatalf("token does not verify against key %s", k.Kid)
		}
		var claims map[string]any
		if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
			t.Fatal(err)
		}
		return claims
	}
	t.Fatalf("no JWKS key %q", hdr.Kid)
	return nil
}

// TestClientCertIdentity: "http-request client-cert-auth" makes a verified
// client certificate the identity behind set-identity-token: a SPIFFE
// client's token (verified against the edge's JWKS by hand) has its SPIFFE
// ID as sub, the certificate's issuer, serial, SANs and not-after as
// claims, and expires with the certificate at the latest, reused by its
// next connection; oidc_claim()
// rules read the same claims; "sub cn" takes the CN. A client without a
// certificate, with one lacking a SPIFFE ID, with an unverified one
// (crt-ignore-err) gets no token, whatever it forged in Authorization, and
// a revoked one (crl-file) is refused.
func TestClientCertIdentity(t *testing.T) {
	ca := testenv.NewCA(t)
	other := testenv.NewCA(t)
	srvCert := ca.Issue(t, "www.example.com")
	const id = "spiffe://example.org/ns/prod/sa/billing"
	good, leaf := spiffeClient(t, ca, "billing", id, "billing.example.org")
	revoked, revLeaf := spiffeClient(t, ca, "old", "spiffe://example.org/ns/prod/sa/old")
	stranger, _ := spiffeClient(t, other, "mallory", "spiffe://example.org/ns/prod/sa/admin")
	plainCN := ca.IssueClient(t, "alice")

	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(dir, "mesh.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: revLeaf.SerialNumber, RevocationTime: now.Add(-time.Hour)}},
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(dir, "ca.crl")
	if err := os.WriteFile(crlFile, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}), 0o644); err != nil {
		t.Fatal(err)
	}

	echo := testenv.StartEchoServer(t)
	pSpiffe, pCN, pIgn := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartGatehouse(t, fmt.Sprintf(`
identity-token mesh
    issuer https://edge.example.com
    audience mesh.example.com
    signing-key file:%[1]s
    lifetime 10m
    claims cert_issuer cert_serial cert_uri cert_dns cert_not_after cnf
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend spiffe
    bind 127.0.0.1:%[2]d ssl crt %[3]s ca-file %[4]s verify optional crl-file %[5]s
    http-request use-service jwks:mesh if { path /jwks }
    http-request client-cert-auth
    http-request deny deny_status 403 if { path_beg /admin } !{ oidc_claim(cert_uri) -m str spiffe://example.org/ns/prod/sa/admin }
    http-request set-header X-DNS %%[oidc_claim(cert_dns)]
    http-request set-identity-token mesh
    default_backend echo
frontend bycn
    bind 127.0.0.1:%[6]d ssl crt %[3]s ca-file %[4]s verify optional
    http-request client-cert-auth sub cn
    http-request set-identity-token mesh
    default_backend echo
frontend ignoring
    bind 127.0.0.1:%[7]d ssl crt %[3]s ca-file %[4]s verify optional crt-ignore-err all ca-ignore-err all
    http-request client-cert-auth
    http-request set-identity-token mesh
    default_backend echo
backend echo
    server e %[8]s
`, keyFile, pSpiffe, srvCert.PEMFile, ca.File, crlFile, pCN, pIgn, echo.Addr))

	client := func(cert *tls.Certificate) *http.Client {
		tc := ca.ClientTLS("www.example.com")
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
	}
	// get returns the status and the Authorization and X-DNS the backend got.
	get := func(port int, cert *tls.Certificate, path string, forge bool) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d%s", port, path), nil)
		if forge {
			req.Header.Set("Authorization", "Bearer forged")
		}
		resp, err := client(cert).Do(req)
		if err != nil {
			t.Fatalf("port %d %s: %v", port, path, err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return resp.StatusCode, "", ""
		}
		e := testenv.DecodeEcho(t, resp)
		return 200, header(e, "Authorization"), header(e, "X-DNS")
	}

	resp, err := client(nil).Get(fmt.Sprintf("https://127.0.0.1:%d/jwks", pSpiffe))
	if err != nil {
		t.Fatal(err)
	}
	var jwks json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	st, authz, dns := get(pSpiffe, &good, "/", true)
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if st != 200 || !ok {
		t.Fatalf("SPIFFE client: status %d, Authorization %q", st, authz)
	}
	c := verifyES256(t, jwks, tok)
	if _, again, _ := get(pSpiffe, &good, "/", false); again != authz {
		t.Errorf("a second connection of the same client got another token (minted per request)")
	}
	wantStr := map[string]string{"sub": id, "iss": "https://edge.example.com", "aud": "mesh.example.com",
		"idp": "CN=Gatehouse Test CA,O=gatehouse testenv", "cert_issuer": "CN=Gatehouse Test CA,O=gatehouse testenv",
		"cert_serial": fmt.Sprintf("%X", leaf.SerialNumber.Bytes())}
	for k, want := range wantStr {
		got := fmt.Sprint(c[k])
		if k == "aud" {
			if l, isList := c[k].([]any); isList && len(l) == 1 {
				got = fmt.Sprint(l[0])
			}
		}
		if got != want {
			t.Errorf("claim %s = %q, want %q", k, got, want)
		}
	}
	if fmt.Sprint(c["cert_uri"]) != "["+id+"]" || fmt.Sprint(c["cert_dns"]) != "[billing.example.org]" {
		t.Errorf("SAN claims: cert_uri %v, cert_dns %v", c["cert_uri"], c["cert_dns"])
	}
	if na, _ := c["cert_not_after"].(float64); int64(na) != leaf.NotAfter.Unix() {
		t.Errorf("cert_not_after %v, want %d", c["cert_not_after"], leaf.NotAfter.Unix())
	}
	sum := sha256.Sum256(leaf.Raw)
	if cnf, _ := c["cnf"].(map[string]any); cnf["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("cnf %v", c["cnf"])
	}
	exp, _ := c["exp"].(float64)
	if int64(exp) > leaf.NotAfter.Unix() || time.Unix(int64(exp), 0).Before(time.Now()) {
		t.Errorf("exp %v: not within now..%v", exp, leaf.NotAfter)
	}
	if dns != "billing.example.org" {
		t.Errorf("oidc_claim(cert_dns) in a rule: %q", dns)
	}
	if st, _, _ := get(pSpiffe, &good, "/admin", false); st != 403 {
		t.Errorf("rule on oidc_claim(cert_uri): /admin for billing got %d, want 403", st)
	}

	// No token without a verified certificate carrying the subject field.
	for name, tc := range map[string]struct {
		port int
		cert *tls.Certificate
	}{
		"no certificate":              {pSpiffe, nil},
		"no SPIFFE ID":                {pSpiffe, &plainCN.TLS},
		"unverified (crt-ignore-err)": {pIgn, &stranger},
	} {
		if st, authz, _ := get(tc.port, tc.cert, "/", true); st != 200 || authz != "" {
			t.Errorf("%s: status %d, Authorization %q, want none", name, st, authz)
		}
	}
	if st, authz, _ := get(pIgn, &good, "/", false); st != 200 || !strings.HasPrefix(authz, "Bearer ") {
		t.Errorf("verified on an ignore-err bind: status %d, Authorization %q", st, authz)
	}
	if _, err := client(&revoked).Get(fmt.Sprintf("https://127.0.0.1:%d/", pSpiffe)); err == nil {
		t.Errorf("revoked certificate: request went through")
	}

	_, authz, _ = get(pCN, &plainCN.TLS, "/", false)
	tok, _ = strings.CutPrefix(authz, "Bearer ")
	if c := verifyES256(t, jwks, tok); c["sub"] != "cn:alice" {
		t.Errorf("sub cn: sub %v", c["sub"])
	}
}
