package identity

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The hot paths: a request with a session cookie, or a bearer JWT, that was
// verified before.
func BenchmarkSessionCookieCached(b *testing.B) {
	op := newFakeOP(b)
	p := newTestProvider(b, op, nil)
	s := &session{Iss: op.issuer(), Sub: "alice", Exp: p.now().Unix() + 3600}
	sc, _ := p.sealSession(nil, s, true)
	cookie := cookiePairs(httpHeaders("Set-Cookie", sc))[0]
	req := &httpmsg.Request{Method: "GET", URI: "/", Header: make(httpmsg.Headers, 0, 8)}
	b.ReportAllocs()
	for b.Loop() {
		req.Header = append(req.Header[:0], httpmsg.Header{Name: "Host", Value: "a"}, httpmsg.Header{Name: "Cookie", Value: cookie})
		if id, _ := p.Authenticate(req, true); id == nil {
			b.Fatal("refused")
		}
	}
}

func BenchmarkBearerCached(b *testing.B) {
	op := newFakeOP(b)
	p := newTestProvider(b, op, nil)
	tok := "Bearer " + op.accessJWT(nil)
	req := &httpmsg.Request{Method: "GET", URI: "/", Header: make(httpmsg.Headers, 0, 8)}
	b.ReportAllocs()
	for b.Loop() {
		req.Header = append(req.Header[:0], httpmsg.Header{Name: "Host", Value: "a"}, httpmsg.Header{Name: "Authorization", Value: tok})
		if id, _ := p.Authenticate(req, true); id == nil {
			b.Fatal("refused")
		}
	}
}

func BenchmarkBearerUncached(b *testing.B) {
	op := newFakeOP(b)
	p := newTestProvider(b, op, nil)
	d := p.ready.Load()
	tok := op.accessJWT(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.bearer.verifySlow(b.Context(), tok, p.now()); err != nil {
			b.Fatal(err)
		}
	}
}

// The same hot path in store mode: the ticket's session verified within the
// last second is served from the replica's cache (a store read once a
// second, amortized here).
func BenchmarkSessionStoreCached(b *testing.B) {
	srv := testenv.StartRedis(b)
	op := newFakeOP(b)
	p := newTestProvider(b, op, func(c *config.OIDC) {
		c.SessionStore = &config.SessionStore{Kind: "redis", Addrs: []string{srv.Addr}}
	})
	b.Cleanup(p.Stop)
	s := &session{Iss: op.issuer(), Sub: "alice", Exp: p.now().Unix() + 3600}
	sc, err := p.sealSession(nil, s, true)
	if err != nil {
		b.Fatal(err)
	}
	cookie := cookiePairs(httpHeaders("Set-Cookie", sc))[0]
	req := &httpmsg.Request{Method: "GET", URI: "/", Header: make(httpmsg.Headers, 0, 8)}
	b.ReportAllocs()
	for b.Loop() {
		req.Header = append(req.Header[:0], httpmsg.Header{Name: "Host", Value: "a"}, httpmsg.Header{Name: "Cookie", Value: cookie})
		if id, _ := p.Authenticate(req, true); id == nil {
			b.Fatal("refused")
		}
	}
}
