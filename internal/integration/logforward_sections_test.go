package integration

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// udpSink collects syslog datagrams.
type udpSink struct {
	pc   net.PacketConn
	mu   sync.Mutex
	msgs []string
}

func startUDPSink(t *testing.T) *udpSink {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &udpSink{pc: pc}
	t.Cleanup(func() { pc.Close() })
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

func (s *udpSink) addr() string { return s.pc.LocalAddr().String() }

// wait returns the datagrams once there are n (30 s at most).
func (s *udpSink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := slices.Clone(s.msgs)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages within 30s: %q", len(got), n, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	isoNow    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d`)
	legacyNow = regexp.MustCompile(`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d`)
)

// TestLogForwardMatchesHAProxy: the same messages (RFC 3164, RFC 5424,
// priority only, bare text, a broken header) sent to HAProxy 2.6's and
// Gatehouse's log-forward sections over UDP and over TCP (octet-counted
// and newline-framed) come out the same on a target that keeps the
// received format, one that reframes as rfc5424 and one as rfc3164 with
// a level filter; times made from the clock are normalised.
func TestLogForwardMatchesHAProxy(t *testing.T) {
	msgs := []string{
		"<134>Jan  5 10:11:12 host1 app[123]: hello rfc3164",
		`<165>1 2026-12-07T10:11:12.123456+00:00 host2 app2 456 ID47 [ex@1 a="b\]c"] hello rfc5424`,
		"<13>priority only",
		"bare text without priority",
		"<14>Jan  5 10:11:12 host3 nocolon message",
		"<11>1 - - - - - - nil fields",
		"<30>Feb 30 broken header",
	}
	type side struct {
		keep, r5424, r3164 *udpSink
		udp, tcp           string
	}
	cfg := func(s *side) string {
		return fmt.Sprintf(`
log-forward lf
    dgram-bind %s
    bind %s
    maxconn 5
    timeout client 10s
    log %s local0
    log %s format rfc5424 local3
    log %s format rfc3164 local4 notice
`, s.udp, s.tcp, s.keep.addr(), s.r5424.addr(), s.r3164.addr())
	}
	var sides []*side
	for range 2 {
		sides = append(sides, &side{keep: startUDPSink(t), r5424: startUDPSink(t), r3164: startUDPSink(t),
			udp: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), tcp: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))})
	}
	testenv.StartHAProxy(t, cfg(sides[0]))
	testenv.StartGatehouse(t, cfg(sides[1]))
	for _, s := range sides {
		u, err := net.Dial("udp", s.udp)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if _, err := u.Write([]byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		u.Close()
		c, err := net.Dial("tcp", s.tcp)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if i%2 == 0 || !strings.HasPrefix(m, "<") { // newline framing needs a '<' first
				fmt.Fprintf(c, "%d %s", len(m), m)
			} else {
				fmt.Fprintf(c, "%s\r\n", m)
			}
		}
		c.Close()
	}
	n := 2 * len(msgs)
	norm := func(ms []string) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = legacyNow.ReplaceAllString(isoNow.ReplaceAllString(m, "ISO"), "LEGACY")
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name string
		pick func(*side) *udpSink
		n    int
	}{
		{"kept format", func(s *side) *udpSink { return s.keep }, n},
		{"rfc5424", func(s *side) *udpSink { return s.r5424 }, n},
		// notice and above: priorities 165, 13 and 11, and the message
		// without one (level -1 passes the filter), twice.
		{"rfc3164 notice", func(s *side) *udpSink { return s.r3164 }, 8},
	} {
		h, g := norm(c.pick(sides[0]).wait(t, c.n)), norm(c.pick(sides[1]).wait(t, c.n))
		if strings.Join(h, "\n") != strings.Join(g, "\n") {
			t.Errorf("%s differs:\nhaproxy:\n%s\ngatehouse:\n%s", c.name, strings.Join(h, "\n"), strings.Join(g, "\n"))
		}
		t.Logf("%s:\n%s", c.name, strings.Join(g, "\n"))
	}
}
