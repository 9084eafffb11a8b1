package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// syslogSink collects the datagrams a proxy sends to a UDP log target.
type syslogSink struct {
	Addr string
	mu   sync.Mutex
	msgs []string
}

func startSyslogSink(t *testing.T) *syslogSink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &syslogSink{Addr: pc.LocalAddr().String()}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// Lines returns the messages received so far that contain sub.
func (s *syslogSink) Lines(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.msgs {
		if strings.Contains(m, sub) {
			out = append(out, m)
		}
	}
	return out
}

func (s *syslogSink) All() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.msgs, "\n")
}

// logOptsBackend answers /ok (200), /err (500), and /hold: a 200 head and
// part of its body at once, the rest only when release is closed.
func logOptsBackend(t *testing.T, release <-chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/err":
			w.WriteHeader(500)
			io.WriteString(w, "boom")
		case "/hold":
			w.Header().Set("Content-Length", "8")
			w.WriteHeader(200)
			io.WriteString(w, "head")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
			io.WriteString(w, "tail")
		case "/bighold":
			// Larger than a buffer: the proxies stream it as it comes.
			w.Header().Set("Content-Length", "200000")
			w.WriteHeader(200)
			w.Write(make([]byte, 100000))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
			w.Write(make([]byte, 100000))
		default:
			io.WriteString(w, "fine")
		}
	})}
	// HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on the same port.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// logOptsLine: PRI, then the httplog fields that matter here.
var logOptsLine = regexp.MustCompile(`^<(\d+)>.*\[\S+\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\+?-?\d+) (-?\d+) (\+?\d+) \S+ \S+ (\S{4}) .* "(\S+) (\S+) HTTP/1.1"$`)

func logOptsConfig(asapPort, normPort int, sink, backend string) string {
	return fmt.Sprintf(`global
    log %s local0

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend asap
    bind 127.0.0.1:%d
    option logasap
    option log-separate-errors
    http-request deny if { path_beg /deny }
    default_backend app

frontend quiet
    bind 127.0.0.1:%d
    option dontlog-normal
    http-request deny if { path_beg /deny }
    default_backend app

backend app
    server s1 %s
`, sink, asapPort, normPort, backend)
}

// TestLogOptionsMatchHAProxy runs "option logasap", "option
// log-separate-errors" and "option dontlog-normal" side by side with
// HAProxy 2.6 on the same requests: which requests log, at which syslog
// level (PRI), with which status, termination state and '+' marks, and
// that the logasap line of a response whose body is still held by the
// server is out before the body ends.
func TestLogOptionsMatchHAProxy(t *testing.T) {
	type result struct {
		lines map[string]string // "frontend path" -> shape
		early bool              // the /hold line came before the body ended
	}
	run := func(name string, start func(cfg string)) result {
		release := make(chan struct{})
		backend := logOptsBackend(t, release)
		sink := startSyslogSink(t)
		asap, quiet := testenv.FreePort(t), testenv.FreePort(t)
		start(logOptsConfig(asap, quiet, sink.Addr, backend))
		get := func(port int, path string) {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: GET %s: %v", name, path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		var res result
		// /hold: the head comes, the body waits for release.
		done := make(chan struct{})
		go func() {
			defer close(done)
			get(asap, "/hold")
		}()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) && len(sink.Lines("/hold")) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		select {
		case <-done:
		default:
			res.early = len(sink.Lines("/hold")) > 0
		}
		close(release)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: /hold never finished", name)
		}
		for _, p := range []string{"/ok", "/err", "/deny"} {
			get(asap, p)
			get(quiet, p)
		}
		get(quiet, "/hold")
		// asap logs all four; quiet logs /err and /deny only. A marker
		// request on asap, logged after the others, tells when to stop
		// waiting for lines that must not come.
		get(asap, "/ok?last")
		testenv.Eventually(t, 20*time.Second, func() bool {
			return len(sink.Lines("/ok?last")) > 0 && len(sink.Lines(" quiet ")) >= 2
		}, "%s: lines missing:\n%s", name, sink.All())
		res.lines = map[string]string{}
		for _, l := range sink.Lines("") {
			l = strings.TrimRight(l, "\n")
			if strings.HasSuffix(l, `"<BADREQ>"`) {
				continue // readiness probes
			}
			m := logOptsLine.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("%s: unexpected line %q", name, l)
				continue
			}
			plus := func(s string) string {
				if strings.HasPrefix(s, "+") {
					return "+"
				}
				return ""
			}
			key := m[2] + " " + m[14]
			res.lines[key] = fmt.Sprintf("pri=%s srv=%s Ta=%sn status=%s B=%sn term=%s", m[1], m[4], plus(m[9]), m[10], plus(m[11]), m[12])
		}
		return res
	}
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	if !hp.early {
		t.Errorf("haproxy: the logasap line of /hold did not come before the body ended")
	}
	if !gh.early {
		t.Errorf("gatehouse: the logasap line of /hold did not come before the body ended")
	}
	for k, v := range hp.lines {
		if gh.lines[k] != v {
			t.Errorf("%s:\n gatehouse: %q\n   haproxy: %q", k, gh.lines[k], v)
		}
	}
	for k, v := range gh.lines {
		if _, ok := hp.lines[k]; !ok {
			t.Errorf("%s: gatehouse logged %q, haproxy nothing", k, v)
		}
	}
	if len(hp.lines) != 7 {
		t.Errorf("haproxy logged %d lines, want 7 (5 on asap, 2 on quiet)", len(hp.lines))
	}
	if t.Failed() {
		t.Logf("haproxy lines: %v\ngatehouse lines: %v", hp.lines, gh.lines)
	}
}

var checkDuration = regexp.MustCompile(`check duration: \d+ms`)

// TestLogHealthChecksMatchesHAProxy: with "option log-health-checks" a
// server whose checks fail logs each failed check with its details and
// the fall progress, then goes DOWN with a line that no longer repeats
// the check's reason, as HAProxy 2.6 logs it (check durations aside).
func TestLogHealthChecksMatchesHAProxy(t *testing.T) {
	closed := testenv.FreePort(t) // nothing listens: connection refused
	run := func(name string, start func(cfg string)) []string {
		sink := startSyslogSink(t)
		port := testenv.FreePort(t)
		start(fmt.Sprintf(`global
    log %s format raw local0

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    default_backend app

backend app
    log global
    option log-health-checks
    server s1 127.0.0.1:%d check inter 300 rise 2 fall 3
`, sink.Addr, port, closed))
		var lines []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			lines = nil
			for _, l := range sink.Lines("app/s1") {
				lines = append(lines, checkDuration.ReplaceAllString(strings.TrimSpace(l), "check duration: Nms"))
			}
			return len(sink.Lines("is DOWN")) > 0
		}, "%s: no DOWN line:\n%s", name, sink.All())
		return lines
	}
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	if strings.Join(gh, "\n") != strings.Join(hp, "\n") {
		t.Errorf("lines differ:\ngatehouse:\n%s\nhaproxy:\n%s", strings.Join(gh, "\n"), strings.Join(hp, "\n"))
	}
	if len(hp) < 2 {
		t.Errorf("haproxy logged %d lines, want the failed checks and the DOWN line", len(hp))
	}
}

// feBytesOut reads the frontend's bout from a stats CSV.
func feBytesOut(statsURL, fe string) (string, bool) {
	resp, err := http.Get(statsURL)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(b), "\n")
	if len(lines) == 0 {
		return "", false
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	idx := -1
	for i, c := range cols {
		if c == "bout" {
			idx = i
		}
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > idx && idx >= 0 && f[0] == fe && f[1] == "FRONTEND" {
			return f[idx], true
		}
	}
	return "", false
}

// TestContStatsMatchesHAProxy: with "option contstats" the frontend's
// bytes out grow while a response is still being transferred (its server
// holds the rest of the body); without it they stay 0 until it ends. Both
// proxies, the same traffic, read through the stats CSV.
func TestContStatsMatchesHAProxy(t *testing.T) {
	run := func(name string, start func(cfg string)) (cont, plain, h2 string) {
		release := make(chan struct{})
		backend := logOptsBackend(t, release)
		fc, fp, st, f2 := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		start(fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend cont
    bind 127.0.0.1:%d
    option contstats
    default_backend app

frontend plain
    bind 127.0.0.1:%d
    default_backend app

frontend conth2
    bind 127.0.0.1:%d
    option contstats
    default_backend app2

backend app2
    server s2 %s proto h2

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats

backend app
    server s1 %s
`, fc, fp, f2, backend, st, backend))
		statsURL := fmt.Sprintf("http://127.0.0.1:%d/stats;csv", st)
		var wg sync.WaitGroup
		for _, p := range []int{fc, fp, f2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/bighold", p))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		// HAProxy refreshes at least every 5 s; wait up to 20 s for the
		// contstats frontend to show bytes while both bodies are held.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			v, ok := feBytesOut(statsURL, "cont")
			v2, ok2 := feBytesOut(statsURL, "conth2")
			if ok && ok2 && v != "0" && v2 != "0" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cont, _ = feBytesOut(statsURL, "cont")
		plain, _ = feBytesOut(statsURL, "plain")
		h2, _ = feBytesOut(statsURL, "conth2")
		close(release)
		wg.Wait()
		return cont, plain, h2
	}
	gc, gp, g2 := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	hc, hp, h2 := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	t.Logf("during the transfer: gatehouse cont=%s plain=%s h2=%s, haproxy cont=%s plain=%s h2=%s", gc, gp, g2, hc, hp, h2)
	for _, r := range []struct{ who, cont, plain, h2 string }{{"gatehouse", gc, gp, g2}, {"haproxy", hc, hp, h2}} {
		if r.cont == "" || r.cont == "0" {
			t.Errorf("%s: contstats frontend shows bout %q during the transfer, want > 0", r.who, r.cont)
		}
		if r.h2 == "" || r.h2 == "0" {
			t.Errorf("%s: contstats frontend with an HTTP/2 server shows bout %q during the transfer, want > 0", r.who, r.h2)
		}
		if r.plain != "0" {
			t.Errorf("%s: frontend without contstats shows bout %q during the transfer, want 0", r.who, r.plain)
		}
	}
}

// TestLogASAPTCPMatchesHAProxy: in mode tcp, "option logasap" logs once
// the server connection is established, while the session still runs,
// with '+' before %Tt and %B, as HAProxy 2.6 does.
func TestLogASAPTCPMatchesHAProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }() // echo until the client closes
		}
	}()
	tcplog := regexp.MustCompile(`\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(\+?-?\d+) (\+?\d+) (\S{2}) `)
	run := func(name string, start func(cfg string)) string {
		sink := startSyslogSink(t)
		port := testenv.FreePort(t)
		start(fmt.Sprintf(`global
    log %s format raw local0

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen echo
    bind 127.0.0.1:%d
    option logasap
    server s1 %s
`, sink.Addr, port, ln.Addr().String()))
		c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		io.ReadFull(c, buf)
		var line string
		// Only this connection's line: readiness probes (connect, close)
		// have lines of their own, which a busy machine may log as CC.
		mine := c.LocalAddr().String() + " "
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, l := range sink.Lines(mine) {
				if m := tcplog.FindStringSubmatch(l); m != nil {
					line = fmt.Sprintf("srv=%s Tt=%s B=%s term=%s", m[3], m[6][:1], m[7][:1], m[8])
					return true
				}
			}
			return false
		}, "%s: no line while the session is open:\n%s", name, sink.All())
		return line
	}
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	if gh != hp || !strings.Contains(hp, "Tt=+ B=+") {
		t.Errorf("gatehouse: %s\n  haproxy: %s", gh, hp)
	}
}
