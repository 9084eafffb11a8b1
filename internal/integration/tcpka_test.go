package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTCPKeepAliveLikeHAProxy: "option clitcpka" arms TCP keep-alive on
// the proxy's client connections and "option srvtcpka" (or "option
// tcpka" on both sides) on its server connections; without them neither
// has it, in mode tcp and mode http alike. The kernel shows it: an idle
// socket with SO_KEEPALIVE has its keep-alive timer pending (timer 2 in
// /proc/net/tcp), one without has no timer.
func TestTCPKeepAliveLikeHAProxy(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("needs /proc/net/tcp")
	}
	srv := startPortRecorder(t)
	cases := []struct{ name, mode, opts string }{
		{"tcp-plain", "tcp", ""},
		{"tcp-cli", "tcp", "option clitcpka"},
		{"tcp-srv", "tcp", "option srvtcpka"},
		{"http-plain", "http", ""},
		{"http-both", "http", "option tcpka"},
		{"http-no", "http", "option tcpka\n    no option clitcpka"},
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		ports := make([]int, len(cases))
		var cfg strings.Builder
		cfg.WriteString("defaults\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n")
		for i, c := range cases {
			ports[i] = testenv.FreePort(t)
			fmt.Fprintf(&cfg, "\nlisten %s\n    mode %s\n    bind 127.0.0.1:%d\n    %s\n    server s1 %s\n", c.name, c.mode, ports[i], c.opts, srv.ln.Addr())
		}
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg.String())
		} else {
			testenv.StartGatehouse(t, cfg.String())
		}
		var out []string
		for i, c := range cases {
			conn, err := net.Dial("tcp", testenv.LocalAddr(ports[i]))
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(conn)
			first := fmt.Sprintf("ping %s %s\n", name, c.name)
			if c.mode == "http" {
				first = fmt.Sprintf("GET /%s/%s HTTP/1.1\r\n", name, c.name)
				io.WriteString(conn, first+"Host: h\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("%s %s: %v", name, c.name, err)
				}
				io.Copy(io.Discard, resp.Body)
			} else {
				io.WriteString(conn, first)
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatalf("%s %s: %v", name, c.name, err)
				}
			}
			cliPort := conn.LocalAddr().(*net.TCPAddr).Port
			proxySide := srv.from(t, first)
			out = append(out, fmt.Sprintf("%s:cli=%s,srv=%s", c.name,
				keepAliveTimer(t, ports[i], cliPort), keepAliveTimer(t, proxySide, srv.port())))
			conn.Close()
		}
		results[name] = strings.Join(out, " ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	want := "tcp-plain:cli=off,srv=off tcp-cli:cli=on,srv=off tcp-srv:cli=off,srv=on http-plain:cli=off,srv=off http-both:cli=on,srv=on http-no:cli=off,srv=on"
	if results["gatehouse"] != want {
		t.Errorf("gatehouse: %s\n     want: %s", results["gatehouse"], want)
	}
}

// portRecorder is a server that echoes lines (mode tcp) or answers HTTP
// requests, and remembers the port its latest client connected from.
type portRecorder struct {
	ln    net.Listener
	mu    sync.Mutex
	ports map[string]int // first line -> the port it came from
}

func startPortRecorder(t *testing.T) *portRecorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &portRecorder{ln: ln, ports: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(60 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					r.mu.Lock()
					if _, ok := r.ports[line]; !ok {
						r.ports[line] = c.RemoteAddr().(*net.TCPAddr).Port
					}
					r.mu.Unlock()
					if !strings.HasPrefix(line, "GET ") {
						io.WriteString(c, line)
						continue
					}
					for line != "\r\n" && err == nil {
						line, err = br.ReadString('\n')
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	return r
}

func (r *portRecorder) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// from returns the port the connection whose first line was line came
// from.
func (r *portRecorder) from(t *testing.T, line string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.ports[line]
	if !ok {
		t.Fatalf("the server never received %q", line)
	}
	return p
}

// keepAliveTimer tells whether the socket from local port to remote port
// has its keep-alive timer pending ("on") or no timer ("off"), waiting
// out a retransmission timer (1) that data in flight may leave.
func keepAliveTimer(t *testing.T, local, remote int) string {
	t.Helper()
	var got string
	testenv.Eventually(t, 20*time.Second, func() bool {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(l)
			if len(f) < 6 || hexPort(f[1]) != local || hexPort(f[2]) != remote || f[3] != "01" {
				continue
			}
			switch f[5][:2] {
			case "00":
				got = "off"
				return true
			case "02":
				got = "on"
				return true
			}
		}
		return false
	}, "no settled established socket %d -> %d in /proc/net/tcp:\n%s", local, remote, procTCPLines(local, remote))
	return got
}

func procTCPLines(local, remote int) string {
	b, _ := os.ReadFile("/proc/net/tcp")
	var out []string
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 5 && (hexPort(f[1]) == local || hexPort(f[2]) == remote) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	n, _ := strconv.ParseInt(addr[i+1:], 16, 32)
	return int(n)
}
