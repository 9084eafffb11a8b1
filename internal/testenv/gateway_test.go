package testenv

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGatewayRefusesHandshakeWithoutKnownSNI(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	for _, sni := range []string{"", "unknown.example.com"} {
		cfg := &tls.Config{InsecureSkipVerify: true, ServerName: sni}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.TLSAddr, cfg)
		if err == nil {
			c.Close()
			t.Errorf("SNI %q: handshake succeeded, want it refused", sni)
		}
	}
	// The known name completes, and verifies against the CA file.
	c, err := tls.Dial("tcp", g.TLSAddr, g.TLSConfig(SeedHost))
	if err != nil {
		t.Fatalf("handshake with SNI %s: %v", SeedHost, err)
	}
	c.Close()
}

func TestGatewayUnknownHost404(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	// SNI is the known host, Host header is not.
	req, _ := http.NewRequest("GET", "https://"+SeedHost+"/x", nil)
	req.Host = "other.example.com"
	resp, err := g.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	if g.Echo.Requests.Load() != 0 {
		t.Fatalf("echo server saw %d requests, want 0", g.Echo.Requests.Load())
	}
	g.WaitAccess(t, 5*time.Second, func(e AccessEntry) bool {
		return e.SNI == SeedHost && e.Host == "other.example.com" && e.Status == "404" && e.Request == "GET /x HTTP/1.1"
	})
}

func TestGatewayEchoesPOST(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	body := bytes.Repeat([]byte("gatehouse"), 100000) // 900 kB
	req, _ := http.NewRequest("POST", "https://"+SeedHost+"/a/b?c=d", bytes.NewReader(body))
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("X-Gw-Sni", "spoofed")
	resp, err := g.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	e := DecodeEcho(t, resp)
	if e.Method != "POST" || e.URI != "/a/b?c=d" || e.Host != SeedHost {
		t.Errorf("method/uri/host = %q %q %q", e.Method, e.URI, e.Host)
	}
	if e.BodyLen != int64(len(body)) || e.BodySHA256 != SHA256Hex(body) {
		t.Errorf("body %d %s, want %d %s", e.BodyLen, e.BodySHA256, len(body), SHA256Hex(body))
	}
	if e.SNI != SeedHost {
		t.Errorf("sni %q, want %q (a client-sent X-Gw-Sni must not win)", e.SNI, SeedHost)
	}
	if e.ClientAddr != "127.0.0.1" || e.Proto != "HTTP/1.1" || e.Scheme != "https" {
		t.Errorf("client_addr %q proto %q scheme %q", e.ClientAddr, e.Proto, e.Scheme)
	}
	if got := e.Headers["X-Multi"]; len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Errorf("X-Multi = %q, want [one two]", got)
	}
	if _, ok := e.Headers["X-Gw-Sni"]; ok {
		t.Errorf("gateway headers leaked into headers: %v", e.Headers)
	}
}

func TestGatewayEndpoints(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	c := g.Client()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := c.Get("https://" + SeedHost + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	for _, n := range []int{0, 1, 65536, 3 << 20} {
		resp, b := get(fmt.Sprintf("/bytes/%d", n))
		if resp.StatusCode != 200 || len(b) != n {
			t.Errorf("/bytes/%d: status %d, %d bytes", n, resp.StatusCode, len(b))
		}
	}
	if resp, _ := get("/status/418"); resp.StatusCode != 418 {
		t.Errorf("/status/418: %d", resp.StatusCode)
	}
	start := time.Now()
	if resp, _ := get("/slow/150"); resp.StatusCode != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("/slow/150: %d after %v", resp.StatusCode, time.Since(start))
	}

	// Status port, like Istio's 15021.
	health := func() int {
		resp, err := http.Get("http://" + g.StatusAddr + "/healthz/ready")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := health(); s != 200 {
		t.Fatalf("healthz: %d", s)
	}
	g.Echo.SetReady(false)
	if s := health(); s != 503 {
		t.Fatalf("healthz after SetReady(false): %d", s)
	}
	g.Echo.SetReady(true)

	// Plain HTTP listener routes on Host too.
	resp, err := http.Get("http://" + g.HTTPAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("plain HTTP with Host %s: %d, want 404", g.HTTPAddr, resp.StatusCode)
	}
	resp, err = Client(g.HTTPAddr, nil).Get("http://" + SeedHost + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	if e := DecodeEcho(t, resp); e.URI != "/plain" || e.Scheme != "http" || e.SNI != "" {
		t.Errorf("plain echo: %+v", e)
	}
}

func TestGatewayWebSocket(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	conn, err := tls.Dial("tcp", g.TLSAddr, g.TLSConfig(SeedHost))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := WebSocketHandshake(conn, SeedHost, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"hello", strings.Repeat("z", 70000)} {
		if err := ws.WriteText(msg); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := ws.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.Opcode != WSText || string(f.Payload) != msg {
			t.Fatalf("echo opcode %d, %d bytes, want text %d bytes", f.Opcode, len(f.Payload), len(msg))
		}
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGatewayProxyProtocol(t *testing.T) {
	g := StartGateway(t, GatewayOptions{ProxyProtocol: true})
	raw, err := net.Dial("tcp", g.PPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprintf(raw, "PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n")
	conn := tls.Client(raw, g.TLSConfig(SeedHost))
	fmt.Fprintf(conn, "GET /pp HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", SeedHost)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := DecodeEcho(t, resp); e.ClientAddr != "203.0.113.7" || e.SNI != SeedHost {
		t.Errorf("client_addr %q sni %q, want 203.0.113.7 %s", e.ClientAddr, e.SNI, SeedHost)
	}
	g.WaitAccess(t, 5*time.Second, func(e AccessEntry) bool { return e.ProxyProtocolAddr == "203.0.113.7" })
}

func TestGatewayMutualTLS(t *testing.T) {
	g := StartGateway(t, GatewayOptions{ClientAuth: true})
	// Without a client certificate nginx answers 400 (after the handshake).
	resp, err := Client(g.TLSAddr, g.CA.ClientTLS("")).Get("https://" + SeedHost + "/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("without client cert: status %d, want 400", resp.StatusCode)
		}
	}
	resp, err = g.Client().Get("https://" + SeedHost + "/")
	if err != nil {
		t.Fatal(err)
	}
	if e := DecodeEcho(t, resp); !strings.Contains(e.ClientDN, "CN=gatehouse-client") {
		t.Errorf("client_dn %q", e.ClientDN)
	}
}

func TestGatewayHTTP2(t *testing.T) {
	g := StartGateway(t, GatewayOptions{HTTP2: true})
	c := g.Client()
	c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	resp, err := c.Get("https://" + SeedHost + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("client proto %s", resp.Proto)
	}
	if e := DecodeEcho(t, resp); e.Proto != "HTTP/2.0" || e.Host != SeedHost {
		t.Errorf("proto %q host %q", e.Proto, e.Host)
	}
}

func TestGatewayStopStart(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	g.Stop()
	if g.Running() {
		t.Fatal("running after Stop")
	}
	if c, err := net.Dial("tcp", g.StatusAddr); err == nil {
		c.Close()
		t.Fatal("status port open after Stop")
	}
	g.Start()
	resp, err := g.Client().Get("https://" + SeedHost + "/again")
	if err != nil {
		t.Fatal(err)
	}
	if e := DecodeEcho(t, resp); e.URI != "/again" {
		t.Errorf("uri %q", e.URI)
	}
}
