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
		default:
			io.WriteString(w, "fine")
		}
	})}
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
