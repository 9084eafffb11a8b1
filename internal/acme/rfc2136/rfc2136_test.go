package rfc2136

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/miekg/dns"
)

// solver makes a solver for b's key of algorithm alg, its secret in a file.
func solver(t *testing.T, b *testenv.Bind9, alg, extra string) *Solver {
	t.Helper()
	k := b.Key(t, alg)
	f := filepath.Join(t.TempDir(), "tsig")
	if err := os.WriteFile(f, []byte(k.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return mustSolver(t, b.Addr+" tsig-key "+k.Name+" "+alg+" file:"+f+" "+extra)
}

func mustSolver(t *testing.T, line string) *Solver {
	t.Helper()
	c, err := Parse(strings.Fields(line))
	if err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	s, err := New(c)
	if err != nil {
		t.Fatalf("New(%q): %v", line, err)
	}
	return s
}

func ctx30(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPresentCleanUp: with each algorithm, Present makes the TXT visible on
// the server, a second value sits beside the first, and CleanUp removes
// only its own value. The zone is found by SOA, or given.
func TestPresentCleanUp(t *testing.T) {
	b := testenv.StartBind9(t, "example.test.")
	for i, tc := range []struct{ alg, extra string }{
		{"hmac-sha256", ""},
		{"hmac-sha512", "zone example.test"},
		{"hmac-sha1", "tcp ttl 30"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			s := solver(t, b, tc.alg, tc.extra)
			ctx := ctx30(t)
			name := "_acme-challenge.www" + string(rune('a'+i)) + ".example.test."
			v1, v2 := "first-"+tc.alg, "second-"+tc.alg
			if err := s.Present(ctx, name, v1); err != nil {
				t.Fatalf("Present: %v", err)
			}
			if got := b.TXT(t, name); !slices.Equal(got, []string{v1}) {
				t.Fatalf("after Present: TXT %v, want [%s]", got, v1)
			}
			if err := s.Present(ctx, name, v2); err != nil {
				t.Fatalf("Present second: %v", err)
			}
			got := b.TXT(t, name)
			slices.Sort(got)
			if !slices.Equal(got, []string{v1, v2}) {
				t.Fatalf("after second Present: TXT %v, want both", got)
			}
			if err := s.CleanUp(ctx, name, v1); err != nil {
				t.Fatalf("CleanUp: %v", err)
			}
			if got := b.TXT(t, name); !slices.Equal(got, []string{v2}) {
				t.Fatalf("after CleanUp of the first: TXT %v, want [%s]", got, v2)
			}
			if err := s.CleanUp(ctx, name, v2); err != nil {
				t.Fatalf("CleanUp second: %v", err)
			}
			if got := b.TXT(t, name); len(got) != 0 {
				t.Fatalf("after both CleanUps: TXT %v, want none", got)
			}
		})
	}
}

// TestTTL: the record carries the configured TTL.
func TestTTL(t *testing.T) {
	b := testenv.StartBind9(t, "example.test.")
	s := solver(t, b, "hmac-sha256", "ttl 42")
	name := "_acme-challenge.ttl.example.test."
	if err := s.Present(ctx30(t), name, "v"); err != nil {
		t.Fatal(err)
	}
	r, err := b.Query(name, dns.TypeTXT)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("query: %v %v", r, err)
	}
	if ttl := r.Answer[0].Header().Ttl; ttl != 42 {
		t.Fatalf("TTL %d, want 42", ttl)
	}
}

// TestQueriesSigned: a zone that answers only queries signed with the key
// works: the lookups and the propagation check on the update server are
// signed too.
func TestQueriesSigned(t *testing.T) {
	b := testenv.StartBind9With(t, testenv.Bind9Config{Zone: "example.test.",
		ZoneOptions: `allow-query { key "gatehouse-sha256."; };`})
	if r, err := b.Query("example.test.", dns.TypeSOA); err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("an unsigned query was not refused: %v %v", r, err)
	}
	s := solver(t, b, "hmac-sha256", "propagation-timeout 5s")
	ctx := ctx30(t)
	if err := s.Present(ctx, "_acme-challenge.signed.example.test.", "signed"); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanUp(ctx, "_acme-challenge.signed.example.test.", "signed"); err != nil {
		t.Fatal(err)
	}
}

// TestCNAMEFollowed: a delegated _acme-challenge (a CNAME) gets the record
// at its target, as the ACME server looks for it there.
func TestCNAMEFollowed(t *testing.T) {
	b := testenv.StartBind9(t, "example.test.", "_acme-challenge.alias CNAME _acme-challenge.real")
	s := solver(t, b, "hmac-sha256", "")
	ctx := ctx30(t)
	if err := s.Present(ctx, "_acme-challenge.alias.example.test.", "via-cname"); err != nil {
		t.Fatal(err)
	}
	if got := b.TXT(t, "_acme-challenge.real.example.test."); !slices.Equal(got, []string{"via-cname"}) {
		t.Fatalf("TXT at the CNAME's target: %v", got)
	}
	if err := s.CleanUp(ctx, "_acme-challenge.alias.example.test.", "via-cname"); err != nil {
		t.Fatal(err)
	}
	if got := b.TXT(t, "_acme-challenge.real.example.test."); len(got) != 0 {
		t.Fatalf("TXT after CleanUp: %v", got)
	}
}

// TestRefusals: a wrong secret, an unknown key, no key, and a name outside
// the server's zones each fail with a message saying which, and change
// nothing.
func TestRefusals(t *testing.T) {
	b := testenv.StartBind9(t, "example.test.")
	k := b.Key(t, "hmac-sha256")
	wrong := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	t.Setenv("GH_TEST_TSIG_WRONG", wrong)
	t.Setenv("GH_TEST_TSIG", k.Secret)
	name := "_acme-challenge.refused.example.test."
	for _, tc := range []struct{ line, fqdn, want string }{
		{b.Addr + " zone example.test tsig-key " + k.Name + " env:GH_TEST_TSIG_WRONG", name, "BADSIG"},
		// The zone found by SOA: the lookup is signed too, and refused first.
		{b.Addr + " tsig-key " + k.Name + " env:GH_TEST_TSIG_WRONG", name, "BADSIG"},
		{b.Addr + " zone example.test tsig-key nosuchkey. env:GH_TEST_TSIG", name, "BADKEY"},
		{b.Addr + " zone example.test tsig-key " + k.Name + " hmac-sha512 env:GH_TEST_TSIG", name, "BADKEY"},
		{b.Addr + " zone example.test", name, "REFUSED: the server does not allow unsigned updates"},
		{b.Addr + " tsig-key " + k.Name + " env:GH_TEST_TSIG", "_acme-challenge.other.test.", "REFUSED"},
		{b.Addr + " zone example.test tsig-key " + k.Name + " env:GH_TEST_TSIG", "_acme-challenge.other.test.", "not in zone example.test."},
	} {
		s := mustSolver(t, tc.line)
		err := s.Present(ctx30(t), tc.fqdn, "nope")
		t.Logf("%s: %v", tc.want, err)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Present(%s) = %v, want an error with %q", tc.line, tc.fqdn, err, tc.want)
		}
		if err := s.CleanUp(ctx30(t), tc.fqdn, "nope"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CleanUp(%s) = %v, want an error with %q", tc.line, tc.fqdn, err, tc.want)
		}
	}
	// The update itself (not only the lookups before it) maps the
	// server's TSIG error.
	s := mustSolver(t, b.Addr+" zone example.test tsig-key "+k.Name+" env:GH_TEST_TSIG_WRONG")
	m := new(dns.Msg)
	m.SetUpdate("example.test.")
	m.Insert([]dns.RR{s.txt(name, "nope")})
	if err := s.update(ctx30(t), m, "example.test.", name); err == nil || !strings.HasPrefix(err.Error(), "BADSIG") {
		t.Errorf("update with a wrong secret: %v, want BADSIG", err)
	}
	if got := b.TXT(t, name); len(got) != 0 {
		t.Fatalf("a refused update changed the zone: TXT %v", got)
	}
}

// TestUnreachable: a server that never answers fails within the caller's
// deadline (not the per-exchange timeout), and one that refuses connections
// fails at once.
func TestUnreachable(t *testing.T) {
	hole, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	t.Setenv("GH_TEST_TSIG", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	s := mustSolver(t, hole.LocalAddr().String()+" timeout 20s tsig-key k. env:GH_TEST_TSIG")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Present(ctx, "_acme-challenge.x.example.test.", "v")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Present to a black hole: %v, want the context's deadline", err)
	}
	// Generous on a busy machine, and far below the 20s exchange timeout.
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Present took %v past a 500ms deadline", d)
	}

	refused := testenv.LocalAddr(testenv.RefusedPort(t))
	s = mustSolver(t, refused+" tcp tsig-key k. env:GH_TEST_TSIG")
	err = s.CleanUp(ctx30(t), "_acme-challenge.x.example.test.", "v")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("CleanUp to a refusing port: %v", err)
	}
}

// lagging is a check server that answers TXT queries with nothing until
// ready, then passes them to the primary: a secondary not yet transferred.
type lagging struct {
	ready   atomic.Bool
	asked   atomic.Int32
	primary string
}

func (l *lagging) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	l.asked.Add(1)
	if l.ready.Load() {
		if r, err := dns.Exchange(q, l.primary); err == nil {
			_ = w.WriteMsg(r)
			return
		}
	}
	r := new(dns.Msg)
	r.SetReply(q)
	r.Authoritative = true
	_ = w.WriteMsg(r)
}

func startLagging(t *testing.T, primary string) (*lagging, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &lagging{primary: primary}
	srv := &dns.Server{PacketConn: pc, Handler: l}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return l, pc.LocalAddr().String()
}

// TestWaitsForCheckServers: Present returns only once every check server
// answers the value, and fails with what they answered when one never
// does within propagation-timeout.
func TestWaitsForCheckServers(t *testing.T) {
	b := testenv.StartBind9(t, "example.test.")
	l, addr := startLagging(t, b.Addr)
	s := solver(t, b, "hmac-sha256", "check-server "+b.Addr+" check-server "+addr)
	name := "_acme-challenge.lag.example.test."
	done := make(chan error, 1)
	go func() { done <- s.Present(ctx30(t), name, "lagged") }()
	testenv.Eventually(t, 20*time.Second, func() bool { return l.asked.Load() >= 3 }, "the lagging server was not polled")
	select {
	case err := <-done:
		t.Fatalf("Present returned (%v) before the lagging server had the record", err)
	default:
	}
	l.ready.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Present did not return within 30s of the record becoming visible")
	}

	l.ready.Store(false)
	s = solver(t, b, "hmac-sha256", "check-server "+addr+" propagation-timeout 1500ms")
	err := s.Present(ctx30(t), "_acme-challenge.never.example.test.", "never")
	if err == nil || !strings.Contains(err.Error(), "not visible within 1.5s") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Present with a check server that never has it: %v", err)
	}
}
