package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// tcpSyslog is a TCP syslog sink reading octet-counted frames (RFC 6587
// 3.4.1: "<length> <message>").
type tcpSyslog struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	bad  []string
}

func startTCPSyslog(t *testing.T) *tcpSyslog {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpSyslog{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.read(c)
		}
	}()
	return s
}

func (s *tcpSyslog) read(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		n, err := r.ReadString(' ')
		if err != nil {
			return
		}
		l, err := strconv.Atoi(strings.TrimSuffix(n, " "))
		if err != nil || l <= 0 || l > 65536 {
			s.mu.Lock()
			s.bad = append(s.bad, n)
			s.mu.Unlock()
			return
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, string(b))
		s.mu.Unlock()
	}
}

// waitFor returns the messages once one contains sub (30 s at most).
func (s *tcpSyslog) waitFor(t *testing.T, sub string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		msgs, bad := append([]string(nil), s.msgs...), append([]string(nil), s.bad...)
		s.mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("frames without an octet count: %q", bad)
		}
		for _, m := range msgs {
			if strings.Contains(m, sub) {
				return msgs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with %q within 30s; got %q", sub, msgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func linesWith(lines []string, sub string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestRingMatchesHAProxy: HAProxy 2.6 and Gatehouse log the same requests
// into rings (raw and priority formats, one with a small maxlen) that
// forward them octet-counted to TCP syslog sinks; the events the sinks
// receive and "show events <ring>" lists must be the same.
func TestRingMatchesHAProxy(t *testing.T) {
	cfg := func(sock, sink string, port int) string {
		return fmt.Sprintf(`
global
    stats socket %s level admin
ring plain
    description "plain events"
    format raw
    size 32768
    timeout connect 5s
    timeout server 10s
    server sink %s log-proto octet-count
ring short
    format priority
    maxlen 30
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    log ring@plain local0
    log ring@short local1 info
    log-format "hello %%HM %%HU %%ST"
    http-request return status 200
`, sock, sink, port)
	}
	dir := t.TempDir()
	hs, gs := startTCPSyslog(t), startTCPSyslog(t)
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(dir+"/h.sock", hs.ln.Addr().String(), hp))
	testenv.StartGatehouse(t, cfg(dir+"/g.sock", gs.ln.Addr().String(), gp))
	for _, port := range []int{hp, gp} {
		for _, path := range []string{"/one", "/two?x=1", "/a-rather-long-path-past-maxlen"} {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	h := linesWith(hs.waitFor(t, "past-maxlen"), "hello")
	g := linesWith(gs.waitFor(t, "past-maxlen"), "hello")
	if strings.Join(h, "\n") != strings.Join(g, "\n") {
		t.Errorf("forwarded events differ:\nhaproxy:   %q\ngatehouse: %q", h, g)
	}
	for _, ring := range []string{"plain", "short"} {
		he := linesWith(strings.Split(runtimeCmd(t, dir+"/h.sock", "show events "+ring), "\n"), "hello")
		ge := linesWith(strings.Split(runtimeCmd(t, dir+"/g.sock", "show events "+ring), "\n"), "hello")
		if len(linesWith(ge, "GET")) != 3 || strings.Join(he, "\n") != strings.Join(ge, "\n") {
			t.Errorf("show events %s differs:\nhaproxy:   %q\ngatehouse: %q", ring, he, ge)
		}
	}
	if out := runtimeCmd(t, dir+"/g.sock", "show events nosuch"); !strings.Contains(out, "No such event sink") {
		t.Errorf("show events nosuch: %q", out)
	}
	if out := runtimeCmd(t, dir+"/g.sock", "show events"); !strings.Contains(out, "    plain      : type=buffer, 0 dropped, plain events\n") {
		t.Errorf("show events: %q", out)
	}
	t.Logf("events: %q", g)
}
