package app

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// versionBackend answers "v=<X-Version>"; /slow waits until release is
// closed, after telling arrived.
func versionBackend(t *testing.T) (be string, arrived <-chan struct{}, release func()) {
	t.Helper()
	arr := make(chan struct{}, 16)
	rel := make(chan struct{})
	var once sync.Once
	s := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arr <- struct{}{}
			<-rel
		}
		fmt.Fprintf(w, "v=%s", r.Header.Get("X-Version"))
	})
	release = func() { once.Do(func() { close(rel) }) }
	t.Cleanup(release) // before the server's Close, which waits for handlers
	return hostPort(s), arr, release
}

// versionConfig is a frontend that stamps X-Version on every request.
func versionConfig(port int, bindOpts, version, be string) string {
	return testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d%s
    timeout http-keep-alive 30s
    http-request set-header X-Version %s
    default_backend app
backend app
    server s1 %s
`, port, bindOpts, version, be)
}

// waitFor polls cond until it holds or 20s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after 20s: %s", what)
		}
	}
}

// TestReloadServesAcceptedConnections: every connection the old
// configuration accepted gets its answers across a reload, plain and TLS,
// parked or not: one that has sent nothing yet, one halfway through its
// head, an idle keep-alive one and one with a request in flight. What
// was waiting is served by the new configuration, what had started by the
// old one. The retiring runtime lets go of them at once (its connection
// count drops), rather than at a timeout.
func TestReloadServesAcceptedConnections(t *testing.T) {
	ca := tlstest.NewCA(t)
	certDir := t.TempDir()
	ca.WritePEMFile(t, certDir, "site.pem", "site.example")
	for _, tc := range []struct {
		name     string
		bindOpts string
		park     bool
	}{
		{"plain", "", false},
		{"plain parked", "", true},
		{"tls", " ssl crt " + certDir + " alpn http/1.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, arrived, release := versionBackend(t)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			parkAfter := time.Duration(-1)
			if tc.park {
				parkAfter = 10 * time.Millisecond
			}
			rt := startAdjusted(t, versionConfig(port, tc.bindOpts, "one", be), func(g *Graph) { g.Proc.ParkAfter = parkAfter })
			g1 := rt.Graph()
			dial := func() (net.Conn, *bufio.Reader) {
				t.Helper()
				var c net.Conn
				var err error
				if tc.bindOpts != "" {
					c, err = tls.Dial("tcp", addr, &tls.Config{ServerName: "site.example", RootCAs: ca.CertPool(), NextProtos: []string{"http/1.1"}})
				} else {
					c, err = net.Dial("tcp", addr)
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				return c, bufio.NewReader(c)
			}
			ask := func(c net.Conn, br *bufio.Reader, path, want string) {
				t.Helper()
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path)
				expect(t, br, path, want)
			}

			kept, keptBR := dial()
			ask(kept, keptBR, "/first", "v=one")
			busy, busyBR := dial()
			fmt.Fprintf(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
			recv(t, arrived, "the slow request never reached the backend")
			half, halfBR := dial()
			io.WriteString(half, "GET /half HTTP/1.1\r\nHost: h\r\n")
			fresh, freshBR := dial()
			waitFor(t, "four connections accepted", func() bool { return g1.Proc.ActConn.Load() == 4 })
			if tc.park {
				waitFor(t, "the idle keep-alive connection parked", func() bool { return g1.Proc.Parked() == 1 })
			}

			if err := rt.Apply(buildGraph(t, versionConfig(port, tc.bindOpts, "two", be))); err != nil {
				t.Fatal(err)
			}
			// The fresh and the idle connections move to the new runtime at
			// once; the busy one and the half head stay until answered.
			waitFor(t, "the old runtime to let the waiting connections go", func() bool { return g1.Proc.ActConn.Load() <= 2 })

			ask(fresh, freshBR, "/fresh", "v=two")
			io.WriteString(half, "\r\n")
			// Started on the old configuration if the session had read the
			// first half before the reload; on the new one if it still sat
			// unread in the socket (a busy machine). Answered either way.
			expectOneOf(t, halfBR, "/half", "v=one", "v=two")
			ask(kept, keptBR, "/kept", "v=two")
			release()
			expect(t, busyBR, "/slow", "v=one")
			// Each goes on serving, now by the new configuration.
			for _, c := range []struct {
				c  net.Conn
				br *bufio.Reader
			}{{fresh, freshBR}, {half, halfBR}, {kept, keptBR}, {busy, busyBR}} {
				ask(c.c, c.br, "/again", "v=two")
			}
			waitFor(t, "the old runtime to drain", func() bool { return g1.Proc.ActConn.Load() == 0 })
		})
	}
}

// recv waits up to 20s for a value on ch; a test never blocks forever on a
// channel whose sender failed.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("after 20s: %s", what)
		panic("unreachable")
	}
}

// expect reads one response and checks it is a 200 with body want.
func expect(t *testing.T, br *bufio.Reader, what, want string) {
	t.Helper()
	expectOneOf(t, br, what, want)
}

// expectOneOf reads one response and checks it is a 200 with one of the
// bodies, on a connection that stays open.
func expectOneOf(t *testing.T, br *bufio.Reader, what string, want ...string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("%s: no answer: %v", what, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !slices.Contains(want, string(body)) {
		t.Fatalf("%s: %d %q %v, want 200 and one of %q", what, resp.StatusCode, body, err, want)
	}
	if resp.Close {
		t.Fatalf("%s: the answer closes the connection", what)
	}
}

// TestStopClosesIdleConnections: a stop (no successor) still closes an
// idle keep-alive connection and one that has sent nothing at once, and
// answers a request in flight with "Connection: close".
func TestStopClosesIdleConnections(t *testing.T) {
	be, arrived, release := versionBackend(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rt := startNoPark(t, versionConfig(port, "", "one", be))
	g := rt.Graph()
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c, bufio.NewReader(c)
	}
	kept, keptBR := dial()
	fmt.Fprintf(kept, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	expect(t, keptBR, "/", "v=one")
	busy, busyBR := dial()
	fmt.Fprintf(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	recv(t, arrived, "the slow request never reached the backend")
	_, freshBR := dial()
	waitFor(t, "three connections accepted", func() bool { return g.Proc.ActConn.Load() == 3 })
	stopped := make(chan error, 1)
	go func() { stopped <- rt.Shutdown() }()
	for name, br := range map[string]*bufio.Reader{"idle keep-alive": keptBR, "fresh": freshBR} {
		if b, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s connection at a stop: %q %v, want a close", name, b, err)
		}
	}
	release()
	resp, err := http.ReadResponse(busyBR, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("in-flight request at a stop: %v", err)
	}
	resp.Body.Close()
	if !resp.Close {
		t.Errorf("in-flight answer at a stop keeps the connection open")
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the stop did not finish")
	}
}

// TestReloadUnderLoadInProcess: 50 reloads in a row while HTTP/1.1
// keep-alive (parked between requests), new-connection and HTTP/2 clients
// run, in process so that the race detector watches every hand-over. Not
// one request may fail. It counts failures and times nothing.
func TestReloadUnderLoadInProcess(t *testing.T) {
	ca := tlstest.NewCA(t)
	certDir := t.TempDir()
	ca.WritePEMFile(t, certDir, "site.pem", "site.example")
	be, _, _ := versionBackend(t)
	plainPort, tlsPort := freePort(t), freePort(t)
	cfg := func(v int) string {
		return testDefaults + fmt.Sprintf(`
frontend plain
    bind 127.0.0.1:%d
    timeout http-keep-alive 30s
    http-request set-header X-Version %d
    default_backend app
frontend secure
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    http-request set-header X-Version %d
    default_backend app
backend app
    server s1 %s
`, plainPort, v, tlsPort, certDir, v, be)
	}
	rt := start(t, cfg(0))
	plain := fmt.Sprintf("127.0.0.1:%d", plainPort)
	var (
		ok, failed atomic.Int64
		mu         sync.Mutex
		first      []string
	)
	fail := func(who string, err error) {
		failed.Add(1)
		mu.Lock()
		if len(first) < 5 {
			first = append(first, who+": "+err.Error())
		}
		mu.Unlock()
	}
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	one := func(c net.Conn, br *bufio.Reader, close bool) (bool, error) {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		hdr := ""
		if close {
			hdr = "Connection: close\r\n"
		}
		if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", hdr); err != nil {
			return true, err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return true, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return resp.Close, err
	}
	for i := 0; i < 3; i++ {
		wg.Add(2)
		go func() { // keep-alive, with pauses long enough to park
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			for n := 0; !stopped(); n++ {
				if c == nil {
					var err error
					if c, err = net.Dial("tcp", plain); err != nil {
						fail("keep-alive dial", err)
						continue
					}
					br = bufio.NewReader(c)
				}
				closing, err := one(c, br, false)
				if err != nil {
					fail("keep-alive", err)
				} else {
					ok.Add(1)
				}
				if closing {
					c.Close()
					c = nil
				}
				if n%4 == 0 {
					time.Sleep(30 * time.Millisecond) // beyond DefaultParkAfter: parks
				}
			}
			if c != nil {
				c.Close()
			}
		}()
		go func() { // a new connection per request
			defer wg.Done()
			for !stopped() {
				c, err := net.Dial("tcp", plain)
				if err != nil {
					fail("new-conn dial", err)
					continue
				}
				if _, err := one(c, bufio.NewReader(c), true); err != nil {
					fail("new-conn", err)
				} else {
					ok.Add(1)
				}
				c.Close()
			}
		}()
	}
	h2c := h2Client(t, ca, "site.example")
	h2c.Timeout = 20 * time.Second
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped() {
				resp, err := h2c.Get(fmt.Sprintf("https://127.0.0.1:%d/", tlsPort))
				if err != nil {
					fail("h2", err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != 200 || resp.ProtoMajor != 2) {
					err = fmt.Errorf("%s %d", resp.Proto, resp.StatusCode)
				}
				if err != nil {
					fail("h2", err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	var graphs []*Graph
	for v := 1; v <= 50; v++ {
		before := ok.Load()
		g := buildGraph(t, cfg(v))
		if err := rt.Apply(g); err != nil {
			t.Fatal(err)
		}
		graphs = append(graphs, g)
		// Let some requests through between reloads, however slow the
		// machine: at least one, or 10s.
		for end := time.Now().Add(10 * time.Second); ok.Load() == before && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	recv(t, waited, "the clients did not stop (a request hangs)")
	t.Logf("%d requests, %d failed, 50 reloads", ok.Load(), failed.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d requests failed across reloads; first: %q", n, first)
	}
	// Every retired runtime lets go of its connections.
	for i, g := range graphs[:len(graphs)-1] {
		waitFor(t, fmt.Sprintf("runtime %d to drain (%d connections)", i+1, g.Proc.ActConn.Load()), func() bool { return g.Proc.ActConn.Load() == 0 })
	}
}

// TestReloadReleasesIntermediateRuntimes: a connection that outlives many
// reloads keeps its own runtime and the current one reachable, not every
// runtime in between (connections find the current listener through the
// socket, not through a chain of successors).
func TestReloadReleasesIntermediateRuntimes(t *testing.T) {
	be, arrived, release := versionBackend(t)
	port := freePort(t)
	rt := startNoPark(t, versionConfig(port, "", "one", be))
	c := dialPort(t, port)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	recv(t, arrived, "the slow request never reached the backend")

	g2 := buildGraph(t, versionConfig(port, "", "two", be))
	closed := make(chan struct{})
	g2.stoppers = append(g2.stoppers, func() { close(closed) })
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(buildGraph(t, versionConfig(port, "", "three", be))); err != nil {
		t.Fatal(err)
	}
	recv(t, closed, "the intermediate runtime never retired")
	w := weak.Make(g2.Frontends[0])
	g2 = nil
	for end := time.Now().Add(20 * time.Second); w.Value() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the intermediate runtime is still reachable while a connection of the first lives")
		}
		runtime.GC()
	}
	release()
	br := bufio.NewReader(c)
	expect(t, br, "/slow", "v=one")
	fmt.Fprintf(c, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	expect(t, br, "/next", "v=three")
}

// TestApplyRefusesGraphWithoutListener: a graph that listens nowhere (built
// other than from a parsed configuration, which cfgparse refuses) is not
// applied: the running one keeps its listeners.
func TestApplyRefusesGraphWithoutListener(t *testing.T) {
	be, _, _ := versionBackend(t)
	port := freePort(t)
	rt := start(t, versionConfig(port, "", "one", be))
	empty := &Graph{Cfg: &config.Config{}, Proc: &proxy.Process{}}
	if err := rt.Apply(empty); err == nil || !strings.Contains(err.Error(), "No enabled listener found") {
		t.Fatalf("Apply of a graph without listener: %v", err)
	}
	c := dialPort(t, port)
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	expect(t, bufio.NewReader(c), "/", "v=one")
}
