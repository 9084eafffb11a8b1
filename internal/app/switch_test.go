package app

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

// Tests of protocol switches (CONNECT, Upgrade) and of what must never
// follow one: the server's connection going back to the pool.

// scriptedBackend is a raw HTTP/1.1 server: each request read with
// net/http's parser goes to answer, which writes the response itself on
// the connection (numbered from 1 in accept order) and says whether the
// connection carries another request.
type scriptedBackend struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted int
	seen     []string // "conn N: METHOD TARGET" in arrival order
	heads    []string // raw request heads, in arrival order
}

type answerFunc func(id int, c net.Conn, br *bufio.Reader, req *http.Request) (keep bool)

func newScriptedBackend(t *testing.T, answer answerFunc) *scriptedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &scriptedBackend{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for id := 1; ; id++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.accepted++
			b.mu.Unlock()
			go b.serve(id, c, answer)
		}
	}()
	return b
}

func (b *scriptedBackend) serve(id int, c net.Conn, answer answerFunc) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	rec := &headRecorder{r: c}
	br := bufio.NewReader(rec)
	for {
		rec.buf.Reset()
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		head := rec.buf.String()
		if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
			head = head[:i+4]
		}
		b.mu.Lock()
		b.seen = append(b.seen, fmt.Sprintf("conn %d: %s %s", id, req.Method, req.RequestURI))
		b.heads = append(b.heads, head)
		b.mu.Unlock()
		if !answer(id, c, br, req) {
			return
		}
	}
}

func (b *scriptedBackend) addr() string { return b.ln.Addr().String() }

func (b *scriptedBackend) conns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.accepted
}

func (b *scriptedBackend) log() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.seen...)
}

func (b *scriptedBackend) lastHead() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.heads) == 0 {
		return ""
	}
	return b.heads[len(b.heads)-1]
}

// headRecorder keeps what was read, so a test can see the raw head.
type headRecorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (h *headRecorder) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.buf.Write(p[:n])
	return n, err
}

// echoUpper copies what the peer sends back upper-cased until it closes.
func echoUpper(c net.Conn, br *bufio.Reader) {
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

// answerConn answers a plain request with the number of the connection it
// came on.
func answerConn(id int, c net.Conn, req *http.Request) bool {
	io.Copy(io.Discard, req.Body)
	body := fmt.Sprintf("conn=%d", id)
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return true
}

// clientConn is a test client connection with generous deadlines.
type clientConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t *testing.T, port int) *clientConn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &clientConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (cc *clientConn) send(s string) {
	cc.t.Helper()
	if _, err := io.WriteString(cc.c, s); err != nil {
		cc.t.Fatalf("send: %v", err)
	}
}

// head reads a response head and returns it (up to the empty line).
func (cc *clientConn) head() string {
	cc.t.Helper()
	var sb strings.Builder
	for {
		line, err := cc.br.ReadString('\n')
		sb.WriteString(line)
		if err != nil {
			cc.t.Fatalf("reading a response head: %v (got %q)", err, sb.String())
		}
		if line == "\r\n" {
			return sb.String()
		}
	}
}

// readN reads exactly n bytes.
func (cc *clientConn) readN(n int) string {
	cc.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(cc.br, b); err != nil {
		cc.t.Fatalf("read %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

// get sends a GET and returns the status line and body.
func (cc *clientConn) get(path string) (status, body string) {
	cc.t.Helper()
	cc.send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(cc.br, &http.Request{Method: "GET"})
	if err != nil {
		cc.t.Fatalf("GET %s: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		cc.t.Fatalf("GET %s body: %v", path, err)
	}
	return resp.Status, string(b)
}

// TestConnectTunnel: a CONNECT answered 2xx becomes a tunnel, as in
// HAProxy; the server's connection then belongs to that client alone and
// the next client's request goes to a connection of its own. A CONNECT
// answered otherwise is an ordinary exchange.
func TestConnectTunnel(t *testing.T) {
	be := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		switch {
		case req.Method == "CONNECT" && req.RequestURI == "ok.example:443":
			fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\nX-Conn: %d\r\n\r\n", id)
			echoUpper(c, br)
			return false
		case req.Method == "CONNECT":
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied")
			return true
		}
		return answerConn(id, c, req)
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    timeout tunnel 30s
    server s1 %s
`, port, be.addr()))

	a := dialClient(t, port)
	a.send("CONNECT ok.example:443 HTTP/1.1\r\nHost: ok.example:443\r\n\r\n")
	head := a.head()
	if !strings.HasPrefix(head, "HTTP/1.1 200 ") || !strings.Contains(head, "X-Conn: 1\r\n") {
		t.Fatalf("CONNECT answer:\n%s", head)
	}
	a.send("hello")
	if got := a.readN(5); got != "HELLO" {
		t.Fatalf("tunnel: %q", got)
	}

	// A second client while the tunnel is open: its request must not go
	// into the tunnel's connection.
	b := dialClient(t, port)
	for i := 0; i < 2; i++ {
		status, body := b.get("/next")
		if status != "200 OK" || body == "conn=1" || !strings.HasPrefix(body, "conn=") {
			t.Fatalf("request %d after the tunnel: %s %q; backend saw %q", i, status, body, be.log())
		}
	}
	a.send("still mine")
	if got := a.readN(10); got != "STILL MINE" {
		t.Fatalf("tunnel after the other client: %q", got)
	}
	for _, l := range be.log() {
		if strings.HasPrefix(l, "conn 1: ") && !strings.HasSuffix(l, "CONNECT ok.example:443") {
			t.Errorf("another request went into the tunnel: %q", be.log())
		}
	}

	// A refused CONNECT is an ordinary answer: the client connection
	// carries its next request.
	c := dialClient(t, port)
	c.send("CONNECT denied.example:443 HTTP/1.1\r\nHost: denied.example:443\r\n\r\n")
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || string(body) != "denied" {
		t.Fatalf("refused CONNECT: %d %q", resp.StatusCode, body)
	}
	if status, body := c.get("/after"); status != "200 OK" || !strings.HasPrefix(body, "conn=") {
		t.Fatalf("after a refused CONNECT: %s %q", status, body)
	}
}

// TestConnectOverH2Refused: a CONNECT that would have to be tunnelled over
// HTTP/2 (from an HTTP/2 client, or to a server that speaks HTTP/2) is
// answered 501, and the server never sees it.
func TestConnectOverH2Refused(t *testing.T) {
	h1 := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		if req.Method == "CONNECT" {
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			echoUpper(c, br)
			return false
		}
		return answerConn(id, c, req)
	})
	h2be := newH2Backend(t, true, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		io.Copy(w, r.Body)
	})
	h2Port, h1Port := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend h2front
    bind 127.0.0.1:%d proto h2
    default_backend h1
frontend h1front
    bind 127.0.0.1:%d
    default_backend h2
backend h1
    server s1 %s
backend h2
    server s1 %s proto h2
`, h2Port, h1Port, h1.addr(), h2be.addr()))

	t.Run("from an HTTP/2 client", func(t *testing.T) {
		cl := h2Client(t, nil, "")
		cl.Timeout = 30 * time.Second
		pr, pw := io.Pipe()
		defer pw.Close()
		req, _ := http.NewRequest("CONNECT", fmt.Sprintf("http://127.0.0.1:%d", h2Port), pr)
		req.Host = "db.example:5432"
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 501 {
			t.Fatalf("status %d, want 501", resp.StatusCode)
		}
		if got := h1.log(); len(got) != 0 {
			t.Fatalf("the server saw %q", got)
		}
	})
	t.Run("to an HTTP/2 server", func(t *testing.T) {
		c := dialClient(t, h1Port)
		c.send("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n")
		head := c.head()
		if !strings.HasPrefix(head, "HTTP/1.1 501 ") {
			t.Fatalf("answer:\n%s", head)
		}
		if n := h2be.connCount(); n != 0 {
			t.Fatalf("the HTTP/2 server got %d connections", n)
		}
	})
}

// TestUnaskedSwitchRefused: a 101 that answers no Upgrade, or a WebSocket
// handshake without the Sec-WebSocket-Accept its key calls for, is
// answered 502 (HAProxy: 502 PH--) and its connection is closed, never
// pooled; a proper one is tunnelled.
func TestUnaskedSwitchRefused(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	be := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		accept := websocketAcceptFor(req.Header.Get("Sec-WebSocket-Key"))
		switch req.URL.Path {
		case "/count":
			return answerConn(id, c, req)
		case "/bogus":
			accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" // the accept of another key
		case "/missing":
			accept = ""
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
		if accept != "" {
			io.WriteString(c, "Sec-WebSocket-Accept: "+accept+"\r\n")
		}
		io.WriteString(c, "\r\n")
		echoUpper(c, br)
		return false
	})
	port, h2Port := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    default_backend app
backend app
    timeout tunnel 30s
    server s1 %s
`, port, h2Port, be.addr()))

	ws := func(path, key string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n\r\n"
	}
	for _, tc := range []struct{ name, req string }{
		{"101 to a request without Upgrade", "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"101 without Sec-WebSocket-Accept", ws("/missing", key)},
		{"101 with the accept of another key", ws("/bogus", "x3JJHMbDL1EzLkh9GBhXDw==")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialClient(t, port)
			c.send(tc.req)
			head := c.head()
			if !strings.HasPrefix(head, "HTTP/1.1 502 ") {
				t.Fatalf("answer:\n%s", head)
			}
			// The server's connection went nowhere: another client's
			// request gets a connection of its own and a proper answer.
			seen := be.log()
			var switched int
			fmt.Sscanf(seen[len(seen)-1], "conn %d:", &switched)
			if status, body := dialClient(t, port).get("/count"); status != "200 OK" || body == fmt.Sprintf("conn=%d", switched) || !strings.HasPrefix(body, "conn=") {
				t.Fatalf("next request: %s %q; backend saw %q", status, body, be.log())
			}
		})
	}
	t.Run("101 over HTTP/2", func(t *testing.T) {
		resp, err := h2Client(t, nil, "").Get(fmt.Sprintf("http://127.0.0.1:%d/plain", h2Port))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 502 {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
	})
	t.Run("a proper handshake is tunnelled", func(t *testing.T) {
		c := dialClient(t, port)
		c.send(ws("/ok", key))
		head := c.head()
		if !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
			t.Fatalf("answer:\n%s", head)
		}
		c.send("frame")
		if got := c.readN(5); got != "FRAME" {
			t.Fatalf("tunnel: %q", got)
		}
	})
}

func websocketAcceptFor(key string) string {
	if key == "" {
		return ""
	}
	return testenv.WebSocketAccept(key)
}

// closedAfter reports whether the server closed the connection with
// nothing more to read.
func (cc *clientConn) closedAfter() bool {
	cc.t.Helper()
	_, err := cc.br.ReadByte()
	return err == io.EOF
}
