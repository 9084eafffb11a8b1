package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// errLog collects the errors a watcher reports.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(err error) { l.mu.Lock(); l.errs = append(l.errs, err); l.mu.Unlock() }
func (l *errLog) get() []error  { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.errs) }

// startWatch runs a watcher until the test ends.
func startWatch(t *testing.T, s *Store, pollOnly bool) *errLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &errLog{}
	w := &watcher{store: s, onErr: log.add, pollOnly: pollOnly, opts: WatchOptions{Debounce: 20 * time.Millisecond, Poll: -1}}
	if pollOnly {
		w.opts.Poll = 30 * time.Millisecond
	}
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the watcher did not stop within 20s")
		}
	})
	return log
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serves(t *testing.T, s *Store, sni, cn string) func() bool {
	return func() bool {
		c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
		return err == nil && c.Leaf.Subject.CommonName == cn
	}
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path, as vault-agent and most deploy tools do.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := tlstest.WriteFile(t, filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"), data)
	must(t, os.Rename(tmp, path))
}

// issueAs issues a certificate for sni whose CN is cn, as one PEM.
func issueAs(t *testing.T, ca *tlstest.CA, cn, sni string) []byte {
	c, k := ca.IssueLeaf(t, tlstest.Leaf{CommonName: cn, Names: []string{sni}})
	return append(c, k...)
}

func TestRotation(t *testing.T) {
	ca := tlstest.NewCA(t)
	tests := []struct {
		name string
		// setup writes version "v1" and returns the crt path to load and a
		// function that installs the given PEM as the new version.
		setup    func(t *testing.T, dir string) (crt string, rotate func(pem []byte))
		pollOnly bool
		// tornReads: the writer truncates then writes; on a busy machine
		// the two can fall in different debounce windows, and the empty
		// file in between is refused (the old certificate stays) before
		// the complete one is taken.
		tornReads bool
	}{
		{"rewrite in place", func(t *testing.T, dir string) (string, func([]byte)) {
			p := tlstest.WriteFile(t, filepath.Join(dir, "site.pem"), issueAs(t, ca, "v1", "site.test"))
			return p, func(b []byte) { tlstest.WriteFile(t, p, b) }
		}, false, true},
		{"atomic rename", func(t *testing.T, dir string) (string, func([]byte)) {
			p := tlstest.WriteFile(t, filepath.Join(dir, "site.pem"), issueAs(t, ca, "v1", "site.test"))
			return p, func(b []byte) { writeAtomic(t, p, b) }
		}, false, false},
		{"file in a directory", func(t *testing.T, dir string) (string, func([]byte)) {
			tlstest.WriteFile(t, filepath.Join(dir, "certs", "site.pem"), issueAs(t, ca, "v1", "site.test"))
			return filepath.Join(dir, "certs"), func(b []byte) { writeAtomic(t, filepath.Join(dir, "certs", "site.pem"), b) }
		}, false, false},
		{"kubernetes ..data swap", func(t *testing.T, dir string) (string, func([]byte)) {
			vol := filepath.Join(dir, "vol")
			tlstest.WriteFile(t, filepath.Join(vol, "..v1", "tls.pem"), issueAs(t, ca, "v1", "site.test"))
			must(t, os.Symlink("..v1", filepath.Join(vol, "..data")))
			must(t, os.Symlink(filepath.Join("..data", "tls.pem"), filepath.Join(vol, "tls.pem")))
			return vol, func(b []byte) {
				tlstest.WriteFile(t, filepath.Join(vol, "..v2", "tls.pem"), b)
				must(t, os.Symlink("..v2", filepath.Join(vol, "..data_tmp")))
				must(t, os.Rename(filepath.Join(vol, "..data_tmp"), filepath.Join(vol, "..data")))
				must(t, os.RemoveAll(filepath.Join(vol, "..v1")))
			}
		}, false, false},
		{"symlinked file swapped", func(t *testing.T, dir string) (string, func([]byte)) {
			store := filepath.Join(dir, "store")
			tlstest.WriteFile(t, filepath.Join(store, "v1.pem"), issueAs(t, ca, "v1", "site.test"))
			link := filepath.Join(dir, "etc", "site.pem")
			must(t, os.MkdirAll(filepath.Dir(link), 0o755))
			must(t, os.Symlink(filepath.Join(store, "v1.pem"), link))
			return link, func(b []byte) {
				tlstest.WriteFile(t, filepath.Join(store, "v2.pem"), b)
				must(t, os.Symlink(filepath.Join(store, "v2.pem"), link+".tmp"))
				must(t, os.Rename(link+".tmp", link))
			}
		}, false, false},
		{"poll only", func(t *testing.T, dir string) (string, func([]byte)) {
			p := tlstest.WriteFile(t, filepath.Join(dir, "site.pem"), issueAs(t, ca, "v1", "site.test"))
			return p, func(b []byte) { writeAtomic(t, p, b) }
		}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt, rotate := tt.setup(t, t.TempDir())
			s, err := LoadStore([]string{crt})
			if err != nil {
				t.Fatal(err)
			}
			log := startWatch(t, s, tt.pollOnly)
			if !serves(t, s, "site.test", "v1")() {
				t.Fatal("v1 not served")
			}
			rotate(issueAs(t, ca, "v2", "site.test"))
			eventually(t, "v2", serves(t, s, "site.test", "v2"))
			rotate(issueAs(t, ca, "v3", "site.test"))
			eventually(t, "v3", serves(t, s, "site.test", "v3"))
			for _, e := range log.get() {
				if !tt.tornReads || !strings.Contains(e.Error(), "no certificate found") {
					t.Errorf("watch error: %v", e)
				}
			}
		})
	}
}

func TestFailedReloadKeepsOld(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	p := tlstest.WriteFile(t, filepath.Join(dir, "site.pem"), issueAs(t, ca, "v1", "site.test"))
	s, err := LoadStore([]string{p})
	if err != nil {
		t.Fatal(err)
	}

	// Reload by hand.
	good, _ := ca.Issue(t, "site.test")
	_, otherKey := ca.Issue(t, "other.test")
	writeAtomic(t, p, append(good, otherKey...))
	if err := s.Reload(); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Reload: %v, want ErrKeyMismatch", err)
	}
	if !serves(t, s, "site.test", "v1")() {
		t.Fatal("old certificate dropped by a failed reload")
	}

	// Through the watcher: the error is reported once, the old certificate
	// stays, and a fixed file is picked up.
	log := startWatch(t, s, false)
	eventually(t, "the error", func() bool { return len(log.get()) > 0 })
	time.Sleep(100 * time.Millisecond) // a few more debounce periods
	if errs := log.get(); len(errs) != 1 || !errors.Is(errs[0], ErrKeyMismatch) {
		t.Fatalf("errors %v, want one ErrKeyMismatch", errs)
	}
	if !serves(t, s, "site.test", "v1")() {
		t.Fatal("old certificate dropped")
	}
	os.Remove(p)
	eventually(t, "missing file reported", func() bool { return len(log.get()) == 2 })
	if !serves(t, s, "site.test", "v1")() {
		t.Fatal("old certificate dropped while the file was missing")
	}
	writeAtomic(t, p, issueAs(t, ca, "v2", "site.test"))
	eventually(t, "v2", serves(t, s, "site.test", "v2"))
}

func TestEstablishedConnectionsKeepTheirCertificate(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	p := tlstest.WriteFile(t, filepath.Join(dir, "site.pem"), issueAs(t, ca, "v1", "site.test"))
	s, err := LoadStore([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ServerConfig(s, &config.Bind{SSL: true})
	if err != nil {
		t.Fatal(err)
	}
	cc := &tls.Config{ServerName: "site.test", RootCAs: ca.CertPool()}

	// An established connection, echoing.
	cconn, sconn := testenv.TCPPair(t, listen(t))
	srv := tls.Server(sconn, sc)
	go func() { _, _ = io.Copy(srv, srv); srv.Close() }()
	cli := tls.Client(cconn, cc)
	defer cli.Close()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}

	writeAtomic(t, p, issueAs(t, ca, "v2", "site.test"))
	must(t, s.Reload())

	if got := cli.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "v1" {
		t.Errorf("established connection's certificate changed to %q", got)
	}
	if _, err := cli.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(cli, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("established connection broken: %q %v", buf, err)
	}
	r := handshake(t, sc, cc)
	if r.clientErr != nil {
		t.Fatal(r.clientErr)
	}
	if got := r.client.PeerCertificates[0].Subject.CommonName; got != "v2" {
		t.Errorf("new handshake got %q, want v2", got)
	}
}
