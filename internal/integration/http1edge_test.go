package integration

import (
	"bufio"
	"bytes"
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

// Side-by-side checks of HTTP/1.1 edge cases (issue 17's HTTP items):
// the same scripted server behind HAProxy 2.6 and behind Gatehouse, the
// same client conversation through each, and what each side observes
// (answers to the client, bytes at the server, log lines) must agree.

// edgeBackend is a raw HTTP/1.1 server whose answers a test scripts. It
// records every request head it receives, with the number of the
// connection (from 1, in accept order) it came on.
type edgeBackend struct {
	ln    net.Listener
	mu    sync.Mutex
	heads []edgeHead
}

type edgeHead struct {
	conn int
	raw  string
	body string
}

type edgeAnswer func(id int, c net.Conn, br *bufio.Reader, req *http.Request) (keep bool)

func startEdgeBackend(t *testing.T, answer edgeAnswer) *edgeBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &edgeBackend{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for id := 1; ; id++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(id, c, answer)
		}
	}()
	return b
}

func (b *edgeBackend) serve(id int, c net.Conn, answer edgeAnswer) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	rec := &recordingReader{r: c}
	br := bufio.NewReader(rec)
	for {
		rec.buf.Reset()
		// The head as sent: what is buffered past it is the next
		// message's, or the body's.
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		raw := rec.buf.String()
		raw = raw[:len(raw)-br.Buffered()]
		b.mu.Lock()
		b.heads = append(b.heads, edgeHead{conn: id, raw: raw})
		b.mu.Unlock()
		if !answer(id, c, br, req) {
			return
		}
	}
}

func (b *edgeBackend) addr() string { return b.ln.Addr().String() }

func (b *edgeBackend) received() []edgeHead {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]edgeHead(nil), b.heads...)
}

type recordingReader struct {
	r   io.Reader
	buf bytes.Buffer
}

func (h *recordingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.buf.Write(p[:n])
	return n, err
}

// edgeConfig runs one frontend and one server, with httplog on stdout.
func edgeConfig(port int, server string) string {
	return fmt.Sprintf(`global
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout tunnel 30s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s1 %s
`, port, server)
}

// edgeProxy is one of the two proxies under comparison.
type edgeProxy struct {
	name string
	port int
	out  interface{ Stdout() string }
}

// bothProxies starts HAProxy and Gatehouse, each in front of its own
// edgeBackend scripted by answer, and runs scenario against each.
func bothProxies(t *testing.T, answer edgeAnswer, scenario func(t *testing.T, p edgeProxy, be *edgeBackend) string) {
	t.Helper()
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		be := startEdgeBackend(t, answer)
		port := testenv.FreePort(t)
		cfg := edgeConfig(port, be.addr())
		p := edgeProxy{name: name, port: port}
		if name == "haproxy" {
			p.out = testenv.StartHAProxy(t, cfg)
		} else {
			p.out = testenv.StartGatehouse(t, cfg)
		}
		results[name] = scenario(t, p, be)
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
}

// logFor waits for the log line of the request with this request line
// and returns its status and termination state ("200 ----").
func (p edgeProxy) logFor(t *testing.T, reqLine string) string {
	t.Helper()
	var got string
	testenv.Eventually(t, 30*time.Second, func() bool {
		for _, l := range strings.Split(p.out.Stdout(), "\n") {
			m := httplogLine.FindStringSubmatch(l)
			if m != nil && m[24] == reqLine {
				got = m[12] + " " + m[16]
				return true
			}
		}
		return false
	}, "%s logged no line for %q:\n%s", p.name, reqLine, p.out.Stdout())
	return got
}

// edgeClient is a client connection with generous deadlines.
type edgeClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialEdge(t *testing.T, port int) *edgeClient {
	t.Helper()
	c, err := net.Dial("tcp", testenv.LocalAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &edgeClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (ec *edgeClient) send(s string) {
	ec.t.Helper()
	if _, err := io.WriteString(ec.c, s); err != nil {
		ec.t.Fatalf("send: %v", err)
	}
}

// response reads one response to a request of method and returns its
// status code and body.
func (ec *edgeClient) response(method string) (int, string) {
	ec.t.Helper()
	resp, err := http.ReadResponse(ec.br, &http.Request{Method: method})
	if err != nil {
		ec.t.Fatalf("reading the answer to %s: %v", method, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		ec.t.Fatalf("reading the body of the answer to %s: %v", method, err)
	}
	return resp.StatusCode, string(b)
}

// statusLine reads a response head and returns its status code; for
// answers that are followed by a tunnel rather than a body.
func (ec *edgeClient) statusLine() string {
	ec.t.Helper()
	var first string
	for {
		line, err := ec.br.ReadString('\n')
		if err != nil {
			ec.t.Fatalf("reading a response head: %v (%q)", err, line)
		}
		if first == "" {
			first = line
		}
		if line == "\r\n" {
			f := strings.Fields(first)
			if len(f) < 2 {
				ec.t.Fatalf("status line %q", first)
			}
			return f[1]
		}
	}
}

func (ec *edgeClient) readN(n int) string {
	ec.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(ec.br, b); err != nil {
		ec.t.Fatalf("read %d bytes: %v (%q)", n, err, b)
	}
	return string(b)
}

// closed reports whether the proxy closed the connection without sending
// anything more.
func (ec *edgeClient) closed() bool {
	ec.t.Helper()
	_, err := ec.br.ReadByte()
	return err == io.EOF
}

// edgeUpper copies what the peer sends back upper-cased until it closes.
func edgeUpper(c net.Conn, br *bufio.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			if _, werr := c.Write(bytes.ToUpper(buf[:n])); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestConnectLikeHAProxy: a CONNECT answered 2xx becomes a tunnel in
// both directions, and the server's connection is never given to another
// client; a CONNECT answered 403 is an ordinary exchange on a connection
// that carries the next request. Both are logged alike.
func TestConnectLikeHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		switch {
		case req.Method == "CONNECT" && strings.HasPrefix(req.RequestURI, "ok."):
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			edgeUpper(c, br)
			return false
		case req.Method == "CONNECT":
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied")
			return true
		}
		io.Copy(io.Discard, req.Body)
		body := fmt.Sprintf("conn=%d", id)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		return true
	}
	bothProxies(t, answer, func(t *testing.T, p edgeProxy, be *edgeBackend) string {
		var out []string
		a := dialEdge(t, p.port)
		a.send("CONNECT ok.example:443 HTTP/1.1\r\nHost: ok.example:443\r\n\r\n")
		out = append(out, "connect="+a.statusLine())
		a.send("hello")
		out = append(out, "tunnel="+a.readN(5))

		b := dialEdge(t, p.port)
		b.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		code, body := b.response("GET")
		out = append(out, fmt.Sprintf("next=%d:%v", code, body != "conn=1"))
		a.send("again")
		out = append(out, "tunnel="+a.readN(5))
		a.c.Close()
		out = append(out, "log="+p.logFor(t, "CONNECT ok.example:443 HTTP/1.1"))

		c := dialEdge(t, p.port)
		c.send("CONNECT no.example:443 HTTP/1.1\r\nHost: no.example:443\r\n\r\n")
		code, body = c.response("CONNECT")
		out = append(out, fmt.Sprintf("refused=%d:%s", code, body))
		c.send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
		code, _ = c.response("GET")
		out = append(out, fmt.Sprintf("after=%d", code))
		out = append(out, "log="+p.logFor(t, "CONNECT no.example:443 HTTP/1.1"))

		// Authority-form is checked before anything is forwarded.
		for _, bad := range []string{"CONNECT ok.example HTTP/1.1\r\nHost: ok.example\r\n\r\n",
			"CONNECT ok.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n",
			"CONNECT ok.example:8443 HTTP/1.1\r\nHost: ok.example\r\n\r\n"} {
			d := dialEdge(t, p.port)
			d.send(bad)
			code, _ := d.response("CONNECT")
			out = append(out, fmt.Sprintf("bad=%d", code))
		}
		for _, h := range be.received() {
			if h.conn == 1 && !strings.HasPrefix(h.raw, "CONNECT ok.example:443 ") {
				t.Errorf("%s: a request went into the tunnel's connection: %q", p.name, h.raw)
			}
		}
		return strings.Join(out, " ")
	})
}

// TestUnaskedSwitchLikeHAProxy: a 101 to a request without Upgrade, and a
// WebSocket 101 without Sec-WebSocket-Accept, are 502 PH-- in both; a
// proper handshake is tunnelled. (A present but wrong accept is relayed
// by HAProxy 2.6 and refused by Gatehouse: see TestUnaskedSwitchRefused.)
func TestUnaskedSwitchLikeHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
		if req.URL.Path != "/missing" && req.Header.Get("Sec-WebSocket-Key") != "" {
			io.WriteString(c, "Sec-WebSocket-Accept: "+testenv.WebSocketAccept(req.Header.Get("Sec-WebSocket-Key"))+"\r\n")
		}
		io.WriteString(c, "\r\n")
		edgeUpper(c, br)
		return false
	}
	ws := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	}
	bothProxies(t, answer, func(t *testing.T, p edgeProxy, be *edgeBackend) string {
		var out []string
		for _, req := range []string{"GET /plain HTTP/1.1\r\nHost: h\r\n\r\n", ws("/missing")} {
			c := dialEdge(t, p.port)
			c.send(req)
			code, _ := c.response("GET")
			out = append(out, fmt.Sprintf("%d", code))
		}
		out = append(out, "log="+p.logFor(t, "GET /plain HTTP/1.1"), "log="+p.logFor(t, "GET /missing HTTP/1.1"))
		c := dialEdge(t, p.port)
		c.send(ws("/ok"))
		out = append(out, c.statusLine())
		c.send("frame")
		out = append(out, c.readN(5))
		c.c.Close()
		out = append(out, "log="+p.logFor(t, "GET /ok HTTP/1.1"))
		// Without a key there is no handshake to check: refused up front.
		d := dialEdge(t, p.port)
		d.send("GET /nokey HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		code, _ := d.response("GET")
		out = append(out, fmt.Sprintf("nokey=%d", code))
		return strings.Join(out, " ")
	})
}

// TestBadChunkedBodyLikeHAProxy: chunked framing that breaks after the
// head gets a 400 and the connection closes, in both; a break in the
// head's own packet is never forwarded. (HAProxy 2.6 logs that one as
// PR-- "<BADREQ>", as Gatehouse does, and a later one as PH--, where
// Gatehouse logs PR-- with the request line: the proxy refused the
// request, and the answer had not started. See TestBadChunkedBodyAnswered.)
func TestBadChunkedBodyLikeHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		io.Copy(io.Discard, req.Body)
		return false
	}
	bothProxies(t, answer, func(t *testing.T, p edgeProxy, be *edgeBackend) string {
		var out []string
		for _, parts := range [][]string{
			{"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"},
			{"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "5\r\nhelloXX\r\n"},
		} {
			c := dialEdge(t, p.port)
			for i, part := range parts {
				if i > 0 {
					// The first part is forwarded before the rest leaves.
					testenv.Eventually(t, 30*time.Second, func() bool { return len(be.received()) > 0 },
						"%s forwarded nothing", p.name)
				}
				c.send(part)
			}
			code, _ := c.response("POST")
			out = append(out, fmt.Sprintf("%d closed=%v", code, c.closed()))
		}
		for _, h := range be.received() {
			out = append(out, "forwarded="+strings.Fields(h.raw)[1])
		}
		return strings.Join(out, " ")
	})
}

// TestBadChunkedResponseLikeHAProxy: a response whose chunked framing is
// bad in the bytes that came with its head is a 502 PH-- in both, before
// a byte of it reaches the client.
func TestBadChunkedResponseLikeHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
		return false
	}
	bothProxies(t, answer, func(t *testing.T, p edgeProxy, be *edgeBackend) string {
		c := dialEdge(t, p.port)
		c.send("GET /bad HTTP/1.1\r\nHost: h\r\n\r\n")
		code, _ := c.response("GET")
		return fmt.Sprintf("%d log=%s", code, p.logFor(t, "GET /bad HTTP/1.1"))
	})
}

// clValues returns the Content-Length values of a raw head, in order.
func clValues(head string) string {
	var out []string
	for _, l := range strings.Split(head, "\r\n") {
		if name, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, "Content-Length") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return strings.Join(out, ",")
}

// TestContentLengthLikeHAProxy: a Content-Length list, or repeated fields,
// with equal values, go on as one field with the one value, both ways.
func TestContentLengthLikeHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX: y\r\nContent-Length: 2\r\n\r\nok")
		return true
	}
	bothProxies(t, answer, func(t *testing.T, p edgeProxy, be *edgeBackend) string {
		var out []string
		for i, fields := range []string{"Content-Length: 5, 5\r\n", "Content-Length: 5\r\nX: y\r\nContent-Length: 5\r\n"} {
			c := dialEdge(t, p.port)
			c.send("POST / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\nhello")
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "POST"})
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			heads := be.received()
			out = append(out, fmt.Sprintf("request=%s response=%s:%s", clValues(heads[i].raw),
				strings.Join(resp.Header.Values("Content-Length"), ","), body))
		}
		return strings.Join(out, " ")
	})
}

// TestExpectContinueLikeHAProxy: "Expect: 100-continue" reaches the
// server, and the body goes on as it arrives without waiting for a 100
// that a server which simply reads the body never sends; a server's 100
// reaches a client that waits for it.
func TestExpectContinueLikeHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		if req.URL.Path == "/continue" {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return false
		}
		body := fmt.Sprintf("got=%s expect=%s", b, req.Header.Get("Expect"))
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		return true
	}
	head := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
	}
	bothProxies(t, answer, func(t *testing.T, p edgeProxy, be *edgeBackend) string {
		var out []string
		c := dialEdge(t, p.port)
		c.send(head("/together") + "hello")
		code, body := c.response("POST")
		out = append(out, fmt.Sprintf("together=%d:%s", code, body))

		d := dialEdge(t, p.port)
		n := len(be.received())
		d.send(head("/late"))
		testenv.Eventually(t, 30*time.Second, func() bool { return len(be.received()) > n },
			"%s: the head never reached the server", p.name)
		d.send("hello")
		code, body = d.response("POST")
		out = append(out, fmt.Sprintf("late=%d:%s", code, body))

		e := dialEdge(t, p.port)
		e.send(head("/continue"))
		interim, _ := e.response("POST")
		e.send("hello")
		code, body = e.response("POST")
		out = append(out, fmt.Sprintf("continue=%d,%d:%s", interim, code, body))
		return strings.Join(out, " ")
	})
}
