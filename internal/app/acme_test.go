package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/acme/lock"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestACMEChallengeBeforeRules: an HTTP frontend answers a pending HTTP-01
// token (here one another replica shared in the state directory) before
// its rules, for GET and HEAD only; any other request under the prefix
// goes through the rules as without ACME.
func TestACMEChallengeBeforeRules(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	start(t, fmt.Sprintf(`
acme LE
    directory http://%s/dir
    state-dir %s
    retry-backoff 1h 1h
crt-store
    load crt site.pem acme LE domains www.acme.test
frontend web
    mode http
    bind 127.0.0.1:%d
    timeout client 5s
    http-request redirect scheme https code 301
`, testenv.LocalAddr(testenv.RefusedPort(t)), dir, port))
	if _, err := tlsLeaf(filepath.Join(dir, "site.pem")); err != nil {
		t.Fatalf("no placeholder written before the listeners: %v", err)
	}
	shared, err := lock.NewDir(filepath.Join(dir, ".coord"))
	if err != nil {
		t.Fatal(err)
	}
	const token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	if err := shared.Put(context.Background(), token, token+".thumbprint", time.Minute); err != nil {
		t.Fatal(err)
	}
	addr := testenv.LocalAddr(port)
	for _, tc := range []struct{ req, want string }{
		{"GET /.well-known/acme-challenge/" + token + " HTTP/1.1\r\nHost: www.acme.test\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
		{"GET /.well-known/acme-challenge/" + token + "?x=1 HTTP/1.1\r\nHost: www.acme.test\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
		{"HEAD /.well-known/acme-challenge/" + token + " HTTP/1.1\r\nHost: www.acme.test\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
		{"POST /.well-known/acme-challenge/" + token + " HTTP/1.1\r\nHost: www.acme.test\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 301 "},
		{"GET /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: www.acme.test\r\n\r\n", "HTTP/1.1 301 "},
		{"GET /.well-known/acme-challenge/../" + token + " HTTP/1.1\r\nHost: www.acme.test\r\n\r\n", "HTTP/1.1 301 "},
		{"GET /x/.well-known/acme-challenge/" + token + " HTTP/1.1\r\nHost: www.acme.test\r\n\r\n", "HTTP/1.1 301 "},
	} {
		got := rawExchange(t, addr, tc.req)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q: got %q, want %q", strings.SplitN(tc.req, "\r\n", 2)[0], got, tc.want)
			continue
		}
		if strings.HasPrefix(tc.req, "GET") && tc.want == "HTTP/1.1 200 OK\r\n" && !strings.HasSuffix(got, "\r\n\r\n"+token+".thumbprint") {
			t.Errorf("%q: body of %q", strings.SplitN(tc.req, "\r\n", 2)[0], got)
		}
	}
	// Gone from the store: no longer answered.
	if err := shared.Delete(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if got := rawExchange(t, addr, "GET /.well-known/acme-challenge/"+token+" HTTP/1.1\r\nHost: www.acme.test\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 301 ") {
		t.Errorf("a finished challenge is still answered: %q", got)
	}
}

func tlsLeaf(path string) (*x509.Certificate, error) {
	c, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		return nil, err
	}
	return c.Leaf, nil
}
