package acme

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// memLocker and memStore stand for the shared lock and challenge store of
// replicas (the lock package's Dir and Redis) within one test process.
type memLocker struct {
	mu    sync.Mutex
	held  map[string]bool
	locks atomic.Int64
}

func (l *memLocker) Lock(_ context.Context, name string, _ time.Duration) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	l.held[name] = true
	l.locks.Add(1)
	return func() { l.mu.Lock(); delete(l.held, name); l.mu.Unlock() }, true, nil
}

type memStore struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memStore) Put(_ context.Context, token, ka string, _ time.Duration) error {
	s.mu.Lock()
	s.m[token] = ka
	s.mu.Unlock()
	return nil
}

func (s *memStore) Get(_ context.Context, token string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ka, ok := s.m[token]
	return ka, ok, nil
}

func (s *memStore) Delete(_ context.Context, token string) error {
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
	return nil
}

// syncBuf is a log sink goroutines can write while the test reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// acmeEnv is Pebble with an HTTP-01 responder standing for the edge's
// HTTP port; answering can be turned off to fail the challenges.
type acmeEnv struct {
	pebble *testenv.Pebble
	resp   atomic.Pointer[Responder]
	answer atomic.Bool
	hits   atomic.Int64
	locker *memLocker
	store  *memStore
}

func newACMEEnv(t *testing.T, validity time.Duration) *acmeEnv {
	e := &acmeEnv{locker: &memLocker{held: map[string]bool{}}, store: &memStore{m: map[string]string{}}}
	e.answer.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if rs := e.resp.Load(); rs != nil && e.answer.Load() {
			if ka, ok := rs.Lookup(r.URL.Path); ok {
				w.Write([]byte(ka))
				return
			}
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.pebble = testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: ln.Addr().(*net.TCPAddr).Port, Validity: validity})
	return e
}

func (e *acmeEnv) manager(t *testing.T, dir string, sec func(*config.ACME), log *syncBuf, domains ...string) *Manager {
	t.Helper()
	return e.managerMode(t, dir, sec, log, false, domains...)
}

func (e *acmeEnv) managerMode(t *testing.T, dir string, sec func(*config.ACME), log *syncBuf, manual bool, domains ...string) *Manager {
	t.Helper()
	s := &config.ACME{Name: "LE", Directory: e.pebble.Directory, Challenge: "HTTP-01", KeyType: "ECDSA", Curves: "P-256",
		StateDir: dir, AccountKey: filepath.Join(dir, "LE.account.key"), Contact: "ops@example.com"}
	if sec != nil {
		sec(s)
	}
	var w interface{ Write([]byte) (int, error) } = log
	if log == nil {
		w = &syncBuf{}
	}
	m, err := New(Options{Section: s, Manual: manual, HTTPClient: e.pebble.HTTPClient(), Locker: e.locker, Challenges: e.store,
		Log: slog.New(slog.NewTextHandler(w, nil)), Poll: 100 * time.Millisecond,
		Certs: []Cert{{Name: "site.pem", Path: filepath.Join(dir, "site.pem"), Domains: domains, PHKeyType: "ECDSA", PHCurves: "P-256"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// served reads the certificate file as a listener would and verifies it
// against Pebble's root for name.
func served(t *testing.T, e *acmeEnv, path, name string) *x509.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		t.Fatal(err)
	}
	inter := x509.NewCertPool()
	for _, d := range c.Certificate[1:] {
		ic, _ := x509.ParseCertificate(d)
		inter.AddCert(ic)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: e.pebble.Roots(t), Intermediates: inter}); err != nil {
		t.Fatalf("the stored certificate does not verify against Pebble's root: %v", err)
	}
	return c.Leaf
}

func waitStatus(t *testing.T, m *Manager, what string, cond func(CertStatus) bool) CertStatus {
	t.Helper()
	var last CertStatus
	testenv.Eventually(t, 60*time.Second, func() bool { last = m.Status()[0]; return cond(last) }, "%s; last status %+v", what, &last)
	return last
}

func TestPebbleIssueRenewRestart(t *testing.T) {
	e := newACMEEnv(t, 30*time.Second)
	dir := t.TempDir()
	m := e.manager(t, dir, func(s *config.ACME) { s.RenewAt = 25 }, nil, "www.acme.test", "acme.test")
	// Before the first issuance the file is a self-signed placeholder.
	st, err := readStored(filepath.Join(dir, "site.pem"))
	if err != nil || !st.placeholder || !covers(st.leaf, []string{"www.acme.test", "acme.test"}) {
		t.Fatalf("no placeholder before the first order: %+v %v", st, err)
	}
	e.resp.Store(NewResponder([]*Manager{m}, nil))
	m.Start()
	s1 := waitStatus(t, m, "first certificate", func(s CertStatus) bool { return s.OrdersOK >= 1 })
	first := served(t, e, filepath.Join(dir, "site.pem"), "acme.test")
	if e.hits.Load() == 0 {
		t.Fatal("the CA never asked the HTTP-01 responder")
	}
	if !s1.NotAfter.Equal(first.NotAfter) {
		t.Fatalf("status notAfter %v, file %v", s1.NotAfter, first.NotAfter)
	}
	// renew-at 25% of 30s: a new certificate some 8s later.
	waitStatus(t, m, "renewal", func(s CertStatus) bool { return s.OrdersOK >= 2 })
	second := served(t, e, filepath.Join(dir, "site.pem"), "www.acme.test")
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("renewal left the same certificate")
	}
	m.Stop()
	if _, err := os.Stat(filepath.Join(dir, "LE.account.key")); err != nil {
		t.Fatalf("account key not stored: %v", err)
	}

	// A restart with the default renew-at (two thirds) finds the stored
	// certificate fresh: no order, the next one scheduled at 2/3 of it.
	locks := e.locker.locks.Load()
	m2 := e.manager(t, dir, nil, nil, "www.acme.test", "acme.test")
	m2.Start()
	s := waitStatus(t, m2, "restart scheduled", func(s CertStatus) bool { return s.State == "Scheduled" && !s.Next.IsZero() })
	want := second.NotBefore.Add(second.NotAfter.Sub(second.NotBefore) * 2 / 3)
	if !s.Next.Equal(want) || s.OrdersOK != 0 || e.locker.locks.Load() != locks {
		t.Fatalf("restart: %+v (want next %v, no order, no lock)", s, want)
	}
	if out := FormatStatus(m2.Status(), time.Now()); !strings.Contains(out, "site.pem\tLE\tScheduled\t"+second.NotAfter.UTC().Format("2006-01-02T15:04:05Z")) {
		t.Fatalf("acme status:\n%s", out)
	}
}

func TestPebbleFailedChallengeBacksOff(t *testing.T) {
	e := newACMEEnv(t, 0)
	e.answer.Store(false)
	dir := t.TempDir()
	log := &syncBuf{}
	m := e.manager(t, dir, func(s *config.ACME) { s.RetryMin, s.RetryMax = 300*time.Millisecond, time.Second }, log, "fail.acme.test")
	e.resp.Store(NewResponder([]*Manager{m}, nil))
	m.Start()
	s := waitStatus(t, m, "three failed orders", func(s CertStatus) bool { return s.Failed >= 3 })
	if s.OrdersOK != 0 || !strings.Contains(s.LastErr, "urn:ietf:params:acme:error:") || !strings.Contains(s.LastErr, "fail.acme.test") {
		t.Fatalf("status after failures: %+v", s)
	}
	out := log.String()
	for _, w := range []string{"ACME order failed", "certificate=site.pem", "fail.acme.test", "urn:ietf:params:acme:error:", "retry_in=300ms", "retry_in=600ms", "failures=3"} {
		if !strings.Contains(out, w) {
			t.Fatalf("log lacks %q:\n%s", w, out)
		}
	}
	if st, _ := readStored(filepath.Join(dir, "site.pem")); !st.placeholder {
		t.Fatal("a failed order replaced the placeholder")
	}
	// Answering again: the next retry issues.
	e.answer.Store(true)
	waitStatus(t, m, "issuance after the failures", func(s CertStatus) bool { return s.OrdersOK == 1 })
	served(t, e, filepath.Join(dir, "site.pem"), "fail.acme.test")
}

func TestPebbleReplicasOrderOnce(t *testing.T) {
	e := newACMEEnv(t, 0)
	dir := t.TempDir()
	a := e.manager(t, dir, nil, nil, "shared.acme.test")
	b := e.manager(t, dir, nil, nil, "shared.acme.test")
	// Each replica answers from the shared store only: whichever one the CA
	// asks may not be the one that ordered.
	e.resp.Store(NewResponder(nil, []ChallengeStore{e.store}))
	a.Start()
	b.Start()
	for _, m := range []*Manager{a, b} {
		waitStatus(t, m, "both replicas see the certificate", func(s CertStatus) bool { return !s.NotAfter.IsZero() && s.State == "Scheduled" })
	}
	if n := a.Status()[0].OrdersOK + b.Status()[0].OrdersOK; n != 1 {
		t.Fatalf("%d orders for one name: %+v %+v", n, a.Status(), b.Status())
	}
	served(t, e, filepath.Join(dir, "site.pem"), "shared.acme.test")
}

// TestPebbleSchedulerOff: with acme.scheduler off nothing is ordered, not
// even the first certificate, until "acme renew" asks; then one order.
func TestPebbleSchedulerOff(t *testing.T) {
	e := newACMEEnv(t, 0)
	dir := t.TempDir()
	m := e.managerMode(t, dir, nil, nil, true, "manual.acme.test")
	e.resp.Store(NewResponder([]*Manager{m}, nil))
	m.Start()
	s := waitStatus(t, m, "stopped", func(s CertStatus) bool { return s.State == "Stopped" })
	if s.OrdersOK != 0 || s.Failed != 0 || e.locker.locks.Load() != 0 || !s.Next.IsZero() {
		t.Fatalf("ordered without a request: %+v", s)
	}
	if !m.Renew("site.pem") || m.Renew("other.pem") {
		t.Fatal("Renew does not find the certificate by its name, or finds another")
	}
	waitStatus(t, m, "the requested order", func(s CertStatus) bool { return s.OrdersOK == 1 && s.State == "Stopped" })
	served(t, e, filepath.Join(dir, "site.pem"), "manual.acme.test")
	if n := e.locker.locks.Load(); n != 1 {
		t.Fatalf("%d orders", n)
	}
}
