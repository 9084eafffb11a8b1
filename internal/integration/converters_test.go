package integration

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestConvertersMatchHAProxy: the encoding, hashing, date, JSON, trimming
// and host converters give HAProxy 2.6's output for the same inputs: each
// expression is rendered by both into a response header and compared.
func TestConvertersMatchHAProxy(t *testing.T) {
	long := strings.Repeat("gatehouse-", 7) // past xxHash's 16- and 32-byte stripes
	exprs := []string{
		"req.hdr(x-url),url_dec", "req.hdr(x-url),url_dec(1)", "req.hdr(x-badurl),url_dec",
		"req.hdr(x-raw),url_enc", "req.hdr(x-raw),url_enc(query)",
		"str(aGVsbG8gd29ybGQ=),b64dec", "str(aGVsbG8gd29ybGQ),ub64dec", "str(aGVsbG8gd29ybGQ=),ub64dec",
		"str(+/x),b64dec", "str(??>>),ub64enc", "str(??>>),base64",
		"str(7fff),hex2i", "str(zz),hex2i", "str(),hex2i",
		"str(abc),sha1,hex", "str(abc),sha2,hex", "str(abc),sha2(224),hex", "str(abc),sha2(512),hex",
		"str(abc),digest(md5),hex", "str(abc),digest(sha384),hex", "str(abc),hmac(sha256,c2VjcmV0),hex",
		"str(abc),crc32", "str(abc),crc32(1)", "str(abc),crc32c", "str(abc),djb2", "str(abc),djb2(1)",
		"str(abc),sdbm", "str(abc),wt6", "str(abc),wt6(1)",
		"str(" + long + "),xxh32", "str(" + long + "),xxh32(5)", "str(" + long + "),xxh64", "str(abc),xxh64(7)",
		"int(12345),crc32", "src,crc32", "src,sdbm(1)", "int(7),sha1,hex",
		"int(1700000000),http_date", "int(1700000000),http_date(3600)", "int(1700000000123),http_date(0,ms)",
		"int(1700000000123456),http_date(-1000000,us)",
		"int(1700000000),utime(%Y-%m-%d_%H:%M:%S_%a_%A_%b_%B_%j_%e_%U_%W_%V_%G_%g_%u_%w_%p_%I_%y_%C_%s_%D_%F_%T_%R_%%)",
		"int(1700000000),utime(%c)", "int(1700000000),utime(%d,3600)", "int(1700000000),ltime(%H:%M)",
		"req.hdr(x-json),json", "req.hdr(x-json),json(utf8)", "req.hdr(x-json),json(utf8s)", "req.hdr(x-json),json(ascii)",
		"req.hdr(x-badutf8),json(utf8s)", "req.hdr(x-badutf8),json(utf8)", "req.hdr(x-badutf8),json(utf8ps)",
		"str(xxabcxx),ltrim(x)", "str(xxabcxx),rtrim(x)", "str(xyabcyx),ltrim(yx)",
		"req.hdr(x-crlf),url_dec,cut_crlf",
		"str(WWW.Example.COM:8080),host_only", "str(WWW.Example.COM:8080),port_only", "str([::1]:80),host_only",
		"str([::1]:80),port_only", "str([::1]),host_only", "str(10.0.0.1),port_only", "str(example.com),host_only",
		"ssl_fc,iif(https,http)", "str(1),iif(yes,no)", "int(0),iif(yes,no)",
		"str(abcdefg),be2dec(:,2)", "str(abcdefg),be2dec(-,2,1)", "str(abcd),be2dec(.,1)",
		"str(abcdefg),be2hex", "str(abcdefg),be2hex(:,2)", "str(abcdefgh),be2hex(--,3,1)",
		"int(258),htonl,hex", "int(-1),htonl,hex",
		"req.hdr(x-doc),json_query('\\$.a.b[0]')", "req.hdr(x-doc),json_query('\\$.a.b[1]')",
		"req.hdr(x-doc),json_query('\\$.a.b[1]','int')", "req.hdr(x-doc),json_query('\\$.a.b[2]')",
		"req.hdr(x-doc),json_query('\\$.t')", "req.hdr(x-doc),json_query('\\$.f')", "req.hdr(x-doc),json_query('\\$.n')",
		"req.hdr(x-doc),json_query('\\$.big')", "req.hdr(x-doc),json_query('\\$.my\\\\.key')",
		"req.hdr(x-doc),json_query('\\$.a')", "req.hdr(x-doc),json_query('\\$.missing')",
		// constants and the process's state
		"bin(00ff41),hex", "bin(414243)", "ipv4(10.1.2.3)", "ipv6(2001:db8::1)", "ipv4(10.1.2.3),ipmask(16)",
		"meth(PURGE)", "env(GATEHOUSE_TEST_ENV)", "env(GATEHOUSE_UNSET_ENV)", "hostname", "proc",
		"rand(1)", "uuid,length", "date,sub(1600000000),bool", "date_us,bool,iif(t,f),length",
	}
	const groupSize = 15
	cfg := func(port int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
`, port)
		// A config line holds at most 64 words: one rule per group of expressions.
		for i, e := range exprs {
			if i%groupSize == 0 {
				b.WriteString("\n    http-request return status 200 content-type text/plain string ok")
			}
			fmt.Fprintf(&b, ` hdr X-R%d "<%%[%s]>"`, i, e)
			if i%groupSize == groupSize-1 || i == len(exprs)-1 {
				fmt.Fprintf(&b, " if { path /%d }", i/groupSize)
			}
		}
		b.WriteString("\n")
		return b.String()
	}
	t.Setenv("GATEHOUSE_TEST_ENV", "from the environment")
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hp))
	testenv.StartGatehouse(t, cfg(gp))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(port, group int) http.Header {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/%d", testenv.LocalAddr(port), group), nil)
		req.Header.Set("X-Url", "a%20b+c%2Fd?e+f%3D")
		req.Header.Set("X-Badurl", "a%2")
		req.Header.Set("X-Raw", `a b/c?d=e&f~g_h-i.j"k`)
		req.Header.Set("X-Json", `say "hi" \ to /path é	tab`)
		req.Header.Set("X-Badutf8", "a\xc3(b\xc0\xafc")
		req.Header.Set("X-Crlf", "line1%0D%0Aline2")
		req.Header.Set("X-Doc", `{"a":{"b":[1,2.5,"x"]},"t":true,"f":false,"n":null,"big":1234567.5,"my.key":"v"}`)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header
	}
	var h, g http.Header
	for i, e := range exprs {
		if i%groupSize == 0 {
			h, g = get(hp, i/groupSize), get(gp, i/groupSize)
		}
		name := fmt.Sprintf("X-R%d", i)
		hv, gv := h.Values(name), g.Values(name)
		if fmt.Sprint(hv) != fmt.Sprint(gv) {
			t.Errorf("%%[%s]:\n  haproxy:   %q\n  gatehouse: %q", e, hv, gv)
		}
	}
}

// TestJWTConvertersMatchHAProxy: jwt_header_query, jwt_payload_query and
// jwt_verify (HMAC, and ECDSA with a certificate file, the algorithm read
// from the token into a variable as HAProxy's documentation shows) give
// HAProxy 2.6's answers for valid, tampered and malformed tokens.
func TestJWTConvertersMatchHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	signer := ca.Issue(t, "jwt-signer")
	// HAProxy 2.6 reads a PEM public key (PEM_read_bio_PUBKEY); Gatehouse
	// also takes a certificate.
	der, err := x509.MarshalPKIXPublicKey(signer.TLS.PrivateKey.(*ecdsa.PrivateKey).Public())
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	token := func(alg, payload string, sign func(string) []byte) string {
		in := b64([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + b64([]byte(payload))
		return in + "." + b64(sign(in))
	}
	hs := func(in string) []byte {
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write([]byte(in))
		return m.Sum(nil)
	}
	es := func(in string) []byte {
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, signer.TLS.PrivateKey.(*ecdsa.PrivateKey), d[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	payload := `{"iss":"https://idp.example","aud":"edge","exp":1900000000,"scope":"read write"}`
	tokens := map[string]string{
		"hs":        token("HS256", payload, hs),
		"es":        token("ES256", payload, es),
		"es-tamper": token("ES256", payload, es)[:40] + "x" + token("ES256", payload, es)[41:],
		"hs-wrong": token("HS256", payload, func(in string) []byte {
			m := hmac.New(sha256.New, []byte("other"))
			m.Write([]byte(in))
			return m.Sum(nil)
		}),
		"ps":        token("PS256", payload, hs),
		"unknown":   token("XY999", payload, hs),
		"two-parts": b64([]byte(`{"alg":"HS256"}`)) + "." + b64([]byte(payload)),
		"garbage":   "not-a-token",
	}
	cfg := func(port int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
    http-request set-var(txn.alg) req.hdr(x-jwt),jwt_header_query('$.alg')
    http-request return status 200 content-type text/plain string ok hdr X-Alg "<%%[var(txn.alg)]>" hdr X-Iss "<%%[req.hdr(x-jwt),jwt_payload_query('\$.iss')]>" hdr X-Exp "<%%[req.hdr(x-jwt),jwt_payload_query('\$.exp','int'),add(1)]>" hdr X-HS "<%%[req.hdr(x-jwt),jwt_verify(HS256,s3cret)]>" hdr X-Var "<%%[req.hdr(x-jwt),jwt_verify(txn.alg,%s)]>" hdr X-ES "<%%[req.hdr(x-jwt),jwt_verify(ES256,%s)]>"
`, port, pubFile, pubFile)
	}
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hp))
	testenv.StartGatehouse(t, cfg(gp))
	for name, tok := range tokens {
		h := replyAt(hp, "/", http.Header{"X-Jwt": {tok}})
		g := replyAt(gp, "/", http.Header{"X-Jwt": {tok}})
		if h != g {
			t.Errorf("token %s:\n  haproxy:   %s\n  gatehouse: %s", name, h, g)
		}
	}
}
