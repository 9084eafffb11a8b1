package app

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestTLSTerminationBySNI: a bind with a certificate directory answers
// each SNI with its own certificate, and HTTP/1.1 is negotiated by ALPN.
func TestTLSTerminationBySNI(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "a.pem", "a.example")
	ca.WritePEMFile(t, dir, "b.pem", "b.example", "*.wild.example")
	be := echoBackend(t, "b1")
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn http/1.1
    default_backend app
backend app
    server s1 %s
`, port, dir, hostPort(be)))
	for _, tc := range []struct{ sni, want string }{
		{"a.example", "a.example"},
		{"b.example", "b.example"},
		{"x.wild.example", "b.example"},
		{"unknown.example", "a.example"}, // the first certificate loaded is the default
	} {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{
			ServerName: tc.sni, RootCAs: ca.CertPool(), InsecureSkipVerify: tc.sni == "unknown.example",
			NextProtos: []string{"http/1.1"},
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.sni, err)
		}
		st := conn.ConnectionState()
		if got := st.PeerCertificates[0].DNSNames[0]; got != tc.want {
			t.Errorf("SNI %s got certificate for %s, want %s", tc.sni, got, tc.want)
		}
		if st.NegotiatedProtocol != "http/1.1" {
			t.Errorf("ALPN %q", st.NegotiatedProtocol)
		}
		fmt.Fprintf(conn, "GET /tls HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.Contains(string(b), "x-forwarded-proto=https") {
			t.Errorf("%s: backend did not see X-Forwarded-Proto https:\n%s", tc.sni, b)
		}
	}
}

// TestReloadKeepsListenerAndInflight: a reload swaps rules without
// refusing a connection, an in-flight request finishes on the old graph,
// and a broken configuration keeps the old one.
func TestReloadKeepsListenerAndInflight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	slow := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		fmt.Fprintf(w, "v=%s\n", r.Header.Get("X-Version"))
	})
	port := freePort(t)
	cfg := func(v string) string {
		return testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request set-header X-Version %s
    default_backend app
backend app
    server s1 %s
`, port, v, hostPort(slow))
	}
	rt := start(t, cfg("one"))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	done := make(chan string, 1) // the sender never blocks, even after a failure
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	recv(t, arrived, "the slow request never reached the backend") // in flight on the first graph
	g2 := buildGraph(t, cfg("two"))
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	if got := get(t, url+"/fast"); got != "v=two\n" {
		t.Errorf("after reload: %q", got)
	}
	close(release)
	if got := recv(t, done, "the in-flight request never finished"); got != "v=one\n" {
		t.Errorf("in-flight request: %q, want it finished on the old graph", got)
	}
	// A configuration whose bind cannot be opened leaves everything as it was.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := cfg("three") + fmt.Sprintf("frontend other\n    bind %s\n    default_backend app\n", busy.Addr())
	if err := rt.Apply(buildGraph(t, bad)); err == nil {
		t.Fatal("apply with an unbindable address succeeded")
	}
	if got := get(t, url+"/fast"); got != "v=two\n" {
		t.Errorf("after failed reload: %q", got)
	}
}

func buildGraph(t *testing.T, cfg string) *Graph {
	t.Helper()
	c, err := parseText(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestUpgradeTunnel: a WebSocket-style upgrade is tunnelled both ways.
func TestUpgradeTunnel(t *testing.T) {
	// A raw backend: answers 101 and then echoes bytes upper-cased.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Header.Get("Upgrade") != "websocket" {
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
					testenv.WebSocketAccept(req.Header.Get("Sec-WebSocket-Key")))
				buf := make([]byte, 64)
				for {
					n, err := br.Read(buf)
					if err != nil {
						return
					}
					c.Write([]byte(strings.ToUpper(string(buf[:n]))))
				}
			}(c)
		}
	}()
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    timeout tunnel 10s
    server s1 %s
`, port, ln.Addr()))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, msg := range []string{"hello", "tunnel"} {
		io.WriteString(c, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != strings.ToUpper(msg) {
			t.Fatalf("tunnel echo: %q %v", buf, err)
		}
	}
}

// TestLocalAnswers covers errorfile, HEAD and 100-continue.
func TestLocalAnswers(t *testing.T) {
	dir := t.TempDir()
	ef := filepath.Join(dir, "503.http")
	os.WriteFile(ef, []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nmaintenance"), 0o644)
	be := echoBackend(t, "b1")
	dead := freePort(t)
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    use_backend down if { path_beg /down }
    default_backend app
backend app
    server s1 %s
backend down
    errorfile 503 %s
    server s1 127.0.0.1:%d
`, port, hostPort(be), ef, dead))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	out := rawExchange(t, addr, "GET /down HTTP/1.1\r\nHost: h\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 503") || !strings.HasSuffix(out, "maintenance") {
		t.Errorf("errorfile: %q", out)
	}
	out = rawExchange(t, addr, "HEAD /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200") || strings.Contains(out, "backend=") {
		t.Errorf("HEAD answered with a body: %q", out)
	}
	// 100-continue: the client waits for the interim answer before its body.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("interim: %q %v", line, err)
	}
	for {
		l, _ := br.ReadString('\n')
		if l == "\r\n" || l == "" {
			break
		}
	}
	io.WriteString(c, "hello")
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "body=hello") {
		t.Errorf("after 100-continue: %q", rest)
	}
}
