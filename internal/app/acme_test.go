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

// TestACMEVirtualMap: HAProxy 3.2's HTTP-01 configuration runs as written:
// 'map virt@acme' in the acme section and rules reading map(virt@acme),
// the map without a file. A pending token is in the map, token ->
// thumbprint, for as long as it is pending.
func TestACMEVirtualMap(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	rt := start(t, fmt.Sprintf(`
acme LE
    directory http://%s/dir
    challenge http-01
    keytype ECDSA
    map virt@acme
    state-dir %s
    retry-backoff 1h 1h
crt-store
    load crt site.pem acme LE domains www.acme.test
frontend web
    mode http
    bind 127.0.0.1:%d
    timeout client 5s
    http-request return status 200 content-type text/plain lf-string "%%[path,field(-1,/)].%%[path,field(-1,/),map(virt@acme)]\n" if { path_beg '/.well-known/acme-challenge/' }
    http-request return status 200 content-type text/plain lf-string "probe=%%[path,field(-1,/),map(virt@acme,none)]" if { path_beg /probe/ }
`, testenv.LocalAddr(testenv.RefusedPort(t)), dir, port))
	ref := rt.Graph().Maps.Lookup("virt@acme")
	if ref == nil || !ref.IsMap() || ref.Count() != 0 || !strings.HasPrefix(ref.Display(), "virtual pattern") {
		t.Fatalf("virt@acme: %+v", ref)
	}
	shared, err := lock.NewDir(filepath.Join(dir, ".coord"))
	if err != nil {
		t.Fatal(err)
	}
	store := mapChallenges{ChallengeStore: shared, ref: ref}
	const token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	if err := store.Put(context.Background(), token, token+".thumb-print_x", time.Minute); err != nil {
		t.Fatal(err)
	}
	addr := testenv.LocalAddr(port)
	probe := func() string {
		got := rawExchange(t, addr, "GET /probe/"+token+" HTTP/1.1\r\nHost: www.acme.test\r\n\r\n")
		_, body, _ := strings.Cut(got, "\r\n\r\n")
		return body
	}
	if got := probe(); got != "probe=thumb-print_x" {
		t.Fatalf("pending: the rule read %q", got)
	}
	if got := rawExchange(t, addr, "GET /.well-known/acme-challenge/"+token+" HTTP/1.1\r\nHost: www.acme.test\r\n\r\n"); !strings.HasSuffix(got, "\r\n\r\n"+token+".thumb-print_x") {
		t.Errorf("the challenge is not answered: %q", got)
	}
	if err := store.Delete(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if got := probe(); got != "probe=none" {
		t.Fatalf("finished: the rule read %q", got)
	}
	if v, ok, _ := shared.Get(context.Background(), token); ok {
		t.Errorf("the shared store still holds %q", v)
	}
}
