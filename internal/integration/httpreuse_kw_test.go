package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// reuseBackend is an HTTP/1.1 server that numbers its connections (from 1,
// in accept order) and knows which are still open. GET /close is answered
// with "Connection: close" and the connection closed.
type reuseBackend struct {
	ln   net.Listener
	mu   sync.Mutex
	n    int
	open map[int]bool
	seen []int // the connection of each request, in order
}

func startReuseBackend(t *testing.T) *reuseBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &reuseBackend{ln: ln, open: map[int]bool{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.n++
			id := b.n
			b.open[id] = true
			b.mu.Unlock()
			go b.serve(id, c)
		}
	}()
	return b
}

func (b *reuseBackend) serve(id int, c net.Conn) {
	defer func() {
		c.Close()
		b.mu.Lock()
		b.open[id] = false
		b.mu.Unlock()
	}()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		b.mu.Lock()
		b.seen = append(b.seen, id)
		b.mu.Unlock()
		if req.URL.Path == "/close" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

// accepted is the number of connections the proxy opened.
func (b *reuseBackend) accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// lastConn is the connection that carried the last request.
func (b *reuseBackend) lastConn() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) == 0 {
		return 0
	}
	return b.seen[len(b.seen)-1]
}

func (b *reuseBackend) isOpen(id int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open[id]
}

// TestHTTPReuseMatchesHAProxy: the same requests through HAProxy 2.6 and
// Gatehouse open the same number of server connections under each
// http-reuse mode. Clients B and E each send a first request and stay
// connected; A's first request is answered with a close, then A sends a
// second; C sends a first request. never opens a connection per session
// and per closed one (5), safe one per first request (4), aggressive lets
// C's first request take the connection A's second proved reusable (3),
// always lets every first request take an idle one (2). With never, A's
// server connection closes when A does. Which idle connections are kept
// is not compared: HAProxy also closes those beyond its estimate of the
// server's need (srv_add_to_idle_list), Gatehouse keeps them for
// pool-max-conn and the idle timeout.
func TestHTTPReuseMatchesHAProxy(t *testing.T) {
	modes := []string{"never", "safe", "aggressive", "always"}
	want := map[string]int{"never": 5, "safe": 4, "aggressive": 3, "always": 2}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		statsPort := testenv.FreePort(t)
		var cfg strings.Builder
		fmt.Fprintf(&cfg, `global
    nbthread 1

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, statsPort)
		ports := make([]int, len(modes))
		bes := make([]*reuseBackend, len(modes))
		for i, m := range modes {
			ports[i] = testenv.FreePort(t)
			bes[i] = startReuseBackend(t)
			fmt.Fprintf(&cfg, "\nlisten %s\n    bind 127.0.0.1:%d\n    http-reuse %s\n    server s1 %s\n", m, ports[i], m, bes[i].ln.Addr())
		}
		stop := testenv.StartSide(t, name, cfg.String())
		var out []string
		for i, m := range modes {
			// Each exchange ends when the server's session count is back
			// to 0: Gatehouse returns the connection to the pool just
			// before, HAProxy (one thread) in the same step.
			settled := func() {
				t.Helper()
				testenv.Eventually(t, 20*time.Second, func() bool {
					return fetchStatsCSV(t, statsPort).rows[m+"/s1"]["scur"] == "0"
				}, "%s %s: server s1 still has sessions", name, m)
			}
			get := func(c *edgeClient, path string) {
				t.Helper()
				c.send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n")
				if code, _ := c.response("GET"); code != 200 {
					t.Fatalf("%s %s: GET %s: %d", name, m, path, code)
				}
				settled()
			}
			b, e, a, c := dialEdge(t, ports[i]), dialEdge(t, ports[i]), dialEdge(t, ports[i]), dialEdge(t, ports[i])
			get(b, "/")
			get(e, "/")
			get(a, "/close")
			get(a, "/")
			aConn := bes[i].lastConn()
			get(c, "/")
			n := bes[i].accepted()
			if n != want[m] {
				t.Errorf("%s, http-reuse %s: %d server connections, want %d", name, m, n, want[m])
			}
			out = append(out, fmt.Sprintf("%s: %d conns", m, n))
			if m == "never" {
				a.c.Close()
				testenv.Eventually(t, 20*time.Second, func() bool { return !bes[i].isOpen(aConn) },
					"%s, http-reuse never: A's server connection %d stayed open after A closed", name, aConn)
			}
			for _, x := range []*edgeClient{b, e, a, c} {
				x.c.Close()
			}
		}
		stop()
		results[name] = strings.Join(out, " | ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
}

// TestPreferLastServerMatchesHAProxy: with round robin over two servers,
// one client connection's four requests alternate between them, unless
// "option prefer-last-server" keeps them on the server whose private
// connection (http-reuse never) the session holds; with shared
// connections (safe) the option changes nothing in HAProxy 2.6, nor here.
func TestPreferLastServerMatchesHAProxy(t *testing.T) {
	modes := []string{"http-reuse never\n    option prefer-last-server", "http-reuse never", "http-reuse safe\n    option prefer-last-server"}
	want := []string{"1111", "1212", "1212"}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var cfg strings.Builder
		cfg.WriteString("global\n    nbthread 1\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n")
		ports := make([]int, len(modes))
		bes := make([][2]*reuseBackend, len(modes))
		for i, m := range modes {
			ports[i] = testenv.FreePort(t)
			bes[i] = [2]*reuseBackend{startReuseBackend(t), startReuseBackend(t)}
			fmt.Fprintf(&cfg, "\nlisten l%d\n    bind 127.0.0.1:%d\n    balance roundrobin\n    %s\n    server s1 %s\n    server s2 %s\n",
				i, ports[i], m, bes[i][0].ln.Addr(), bes[i][1].ln.Addr())
		}
		stop := testenv.StartSide(t, name, cfg.String())
		var out []string
		for i := range modes {
			c := dialEdge(t, ports[i])
			var seq strings.Builder
			for j := 0; j < 4; j++ {
				c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
				if code, _ := c.response("GET"); code != 200 {
					t.Fatalf("%s %q: request %d: %d", name, modes[i], j, code)
				}
				bes[i][0].mu.Lock()
				n1 := len(bes[i][0].seen)
				bes[i][0].mu.Unlock()
				bes[i][1].mu.Lock()
				n2 := len(bes[i][1].seen)
				bes[i][1].mu.Unlock()
				// The server that saw one more request than before.
				if n1+n2 != j+1 {
					t.Fatalf("%s %q: %d requests at the servers after %d", name, modes[i], n1+n2, j+1)
				}
				if seq.Len() < n1+n2 {
					if strings.Count(seq.String(), "1") < n1 {
						seq.WriteByte('1')
					} else {
						seq.WriteByte('2')
					}
				}
			}
			c.c.Close()
			if seq.String() != want[i] {
				t.Errorf("%s %q: servers %s, want %s", name, modes[i], seq.String(), want[i])
			}
			out = append(out, seq.String())
		}
		stop()
		results[name] = strings.Join(out, " ")
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
}
