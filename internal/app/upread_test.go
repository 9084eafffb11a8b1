package app

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// upstreamScript is a raw HTTP/1.1 server whose connections do what the
// test says between answers: the request reaches the server from inside
// the proxy's read of the answer (sock.Conn.HoldForAnswer), and these
// tests hold that path to what the usual send-then-read did.
type upstreamScript struct {
	ln    net.Listener
	conns atomic.Int32
	// first runs on each connection's first request before its answer is
	// written; nil writes it at once.
	first func(n int32, c net.Conn)
	// after runs after each answer, with the connection's number.
	after func(n int32, c net.Conn)
	body  []byte
	delay time.Duration // before each answer
}

func startUpstream(t *testing.T, tlsConf *tls.Config, u *upstreamScript) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	u.ln = ln
	if u.body == nil {
		u.body = []byte("ok")
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := u.conns.Add(1)
			go func() {
				defer c.Close()
				u.serve(n, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func (u *upstreamScript) serve(n int32, c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; ; i++ {
		if i == 0 && u.first != nil {
			u.first(n, c)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		time.Sleep(u.delay)
		if i > 0 || u.first == nil {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(u.body))
			c.Write(u.body)
		}
		if u.after != nil {
			u.after(n, c)
		}
	}
}

func upreadConfig(port int, server, serverTimeout string) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server %s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s
`, serverTimeout, port, server)
}

// keepAliveClient sends requests on one client connection (so the
// second one may take the pooled server connection, http-reuse safe).
type keepAliveClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialUpread(t *testing.T, port int) *keepAliveClient {
	c := dialPort(t, port)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &keepAliveClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (k *keepAliveClient) get(path string) (int, string, time.Duration) {
	k.t.Helper()
	start := time.Now()
	fmt.Fprintf(k.c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path)
	resp, body := readResponse(k.t, k.br, "GET")
	return resp.StatusCode, body, time.Since(start)
}

// TestStaleServerConnectionRetried: the server closes its kept-alive
// connection after the first answer (FIN already there when the next
// request takes the pooled connection): closed, half-closed with a
// lingering read that answers nothing (Apache's lingering close), reset;
// in clear and over TLS. The next request is answered from a new
// connection at once, not after timeout server (30s).
func TestStaleServerConnectionRetried(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "upstream.test")
	for _, withTLS := range []bool{false, true} {
		for _, mode := range []string{"close", "half-close", "reset"} {
			name := mode
			if withTLS {
				name += "/tls"
			}
			t.Run(name, func(t *testing.T) {
				closeNow := make(chan struct{})
				closed := make(chan struct{})
				u := &upstreamScript{after: func(n int32, c net.Conn) {
					if n != 1 {
						return
					}
					<-closeNow
					switch mode {
					case "close":
						c.Close()
					case "half-close":
						if tc, ok := c.(*tls.Conn); ok {
							tc.CloseWrite() // close_notify
							tc.NetConn().(*net.TCPConn).CloseWrite()
						} else {
							c.(*net.TCPConn).CloseWrite()
						}
						close(closed)
						io.Copy(io.Discard, c) // lingers, reading
						return
					case "reset":
						raw := c
						if tc, ok := c.(*tls.Conn); ok {
							raw = tc.NetConn()
						}
						raw.(*net.TCPConn).SetLinger(0)
						raw.Close()
					}
					close(closed)
				}}
				var tlsConf *tls.Config
				server := ""
				if withTLS {
					tlsConf = cert.ServerTLS()
				}
				addr := startUpstream(t, tlsConf, u)
				server = addr
				if withTLS {
					server += " ssl verify none"
				}
				port := freePort(t)
				startNoPark(t, upreadConfig(port, server, "30s"))
				k := dialUpread(t, port)
				if st, body, _ := k.get("/1"); st != 200 || body != "ok" {
					t.Fatalf("first request: %d %q", st, body)
				}
				close(closeNow)
				recv(t, closed, "the server never closed its connection")
				st, body, took := k.get("/2")
				if st != 200 || body != "ok" {
					t.Fatalf("request after the server's %s: %d %q after %v", mode, st, body, took)
				}
				if took > 10*time.Second {
					t.Fatalf("request after the server's %s took %v", mode, took)
				}
				if n := u.conns.Load(); n != 2 {
					t.Fatalf("%d server connections, want 2 (the retry on a new one)", n)
				}
				if st, _, _ := k.get("/3"); st != 200 {
					t.Fatalf("third request: %d", st)
				}
			})
		}
	}
}

// TestUpstreamAnswerPaths: an answer already on its way before the
// request was read, a slow one (within and past timeout server), a large
// one, and pipelined client requests, each through the held send.
func TestUpstreamAnswerPaths(t *testing.T) {
	t.Run("answer before the request", func(t *testing.T) {
		u := &upstreamScript{first: func(n int32, c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
		}}
		addr := startUpstream(t, nil, u)
		port := freePort(t)
		startNoPark(t, upreadConfig(port, addr, "30s"))
		k := dialUpread(t, port)
		if st, body, took := k.get("/"); st != 200 || body != "early" || took > 10*time.Second {
			t.Fatalf("early answer: %d %q after %v", st, body, took)
		}
	})
	t.Run("slow", func(t *testing.T) {
		delay := 600 * time.Millisecond
		u := &upstreamScript{body: []byte("slow"), delay: delay}
		addr := startUpstream(t, nil, u)
		port := freePort(t)
		startNoPark(t, upreadConfig(port, addr, "5s"))
		k := dialUpread(t, port)
		for i := 0; i < 2; i++ {
			if st, body, took := k.get("/"); st != 200 || body != "slow" || took < delay {
				t.Fatalf("slow answer %d: %d %q after %v", i, st, body, took)
			}
		}
		port2 := freePort(t)
		startNoPark(t, upreadConfig(port2, addr, "200ms"))
		k2 := dialUpread(t, port2)
		if st, _, took := k2.get("/"); st != 504 || took > 5*time.Second {
			t.Fatalf("answer past timeout server: %d after %v, want 504 after ~200ms", st, took)
		}
	})
	t.Run("large", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
		u := &upstreamScript{body: big}
		addr := startUpstream(t, nil, u)
		port := freePort(t)
		startNoPark(t, upreadConfig(port, addr, "30s"))
		k := dialUpread(t, port)
		for i := 0; i < 3; i++ {
			if st, body, _ := k.get("/"); st != 200 || body != string(big) {
				t.Fatalf("large answer %d: %d, %d bytes", i, st, len(body))
			}
		}
		if n := u.conns.Load(); n != 1 {
			t.Fatalf("%d server connections for three large answers, want 1", n)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		u := &upstreamScript{}
		addr := startUpstream(t, nil, u)
		port := freePort(t)
		startNoPark(t, upreadConfig(port, addr, "30s"))
		k := dialUpread(t, port)
		io.WriteString(k.c, strings.Repeat("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", 3))
		for i := 0; i < 3; i++ {
			if resp, body := readResponse(t, k.br, "GET"); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("pipelined answer %d: %d %q", i, resp.StatusCode, body)
			}
		}
	})
}
