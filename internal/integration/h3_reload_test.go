package integration

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

const h3ReloadConfig = `defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind %[1]s alpn h3
    bind %[2]s
    http-response set-header X-Config CONFIG
    default_backend be

backend be
    server s1 `

// TestH3Reload: a reload keeps the QUIC socket and the connections on it.
// A request in flight finishes on the configuration it started on; the
// connection's next requests, like new connections, are served by the new
// one (as an HTTP/2 connection moves, proxy/handover.go), never with a new
// handshake. A reload that drops the QUIC bind lets the request in flight
// finish, then the connection gets its GOAWAY and closes, no new
// connection is accepted, and the UDP port is released once it has.
func TestH3Reload(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	base := h3ReloadConfig + echo.Addr + "\n"
	e := startH3(t, strings.Replace(base, "CONFIG", "a", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, testenv.LocalAddr(e.UDPPort), h3TLS(e), &quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	cc := (&http3.Transport{}).NewClientConn(conn)
	type result struct {
		config string
		status int
		err    error
	}
	get := func(path string) result {
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://localhost"+path, nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			return result{err: err}
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return result{resp.Header.Get("X-Config"), resp.StatusCode, nil}
	}
	inFlight := func(path string) chan result {
		n := echo.Requests.Load()
		ch := make(chan result, 1)
		go func() { ch <- get(path) }()
		testenv.Eventually(t, 20*time.Second, func() bool { return echo.Requests.Load() > n }, "the request never reached the server")
		return ch
	}
	wait := func(ch chan result) result {
		t.Helper()
		select {
		case r := <-ch:
			return r
		case <-ctx.Done():
			t.Fatal("no response")
		}
		return result{}
	}
	freshConfig := func() string {
		tr := &http3.Transport{TLSClientConfig: h3TLS(e)}
		defer tr.Close()
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := c.Get(e.URL + "/fresh")
		if err != nil {
			return "error: " + err.Error()
		}
		resp.Body.Close()
		return resp.Header.Get("X-Config")
	}
	if r := get("/first"); r.err != nil || r.config != "a" {
		t.Fatalf("before the reload: %+v", r)
	}

	slow := inFlight("/slow/3000")
	e.G.WriteConfig(e.Format(strings.Replace(base, "CONFIG", "b", 1)))
	if err := e.G.Reload(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return freshConfig() == "b" }, "new connections never got the new configuration")
	if r := wait(slow); r.err != nil || r.status != 200 || r.config != "a" {
		t.Errorf("the request in flight across the reload: %+v, want 200 on configuration a", r)
	}
	if r := get("/next"); r.err != nil || r.config != "b" {
		t.Errorf("the connection's next request: %+v, want configuration b", r)
	}
	if conn.Context().Err() != nil {
		t.Fatalf("the connection did not survive the reload: %v", context.Cause(conn.Context()))
	}

	// Drop the QUIC bind: the request in flight finishes, then the
	// connection ends.
	slow = inFlight("/slow/2000")
	noQUIC := strings.Replace(strings.Replace(base, "CONFIG", "c", 1), "    bind %[1]s alpn h3\n", "", 1)
	e.G.WriteConfig(e.Format(noQUIC))
	if err := e.G.Reload(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		resp, err := e.TCP.Get(e.TCPURL + "/tcp")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.Header.Get("X-Config") == "c"
	}, "the reload dropping the QUIC bind never took effect")
	if r := wait(slow); r.err != nil || r.status != 200 || r.config != "b" {
		t.Errorf("the request in flight when the bind went: %+v (%v), want 200 on configuration b", r, r.err)
	}
	select {
	case <-conn.Context().Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the connection of a dropped QUIC bind was not closed once idle")
	}
	if got := freshConfig(); !strings.HasPrefix(got, "error") {
		t.Errorf("a new connection to the dropped QUIC bind was served (%s)", got)
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: e.UDPPort})
		if err != nil {
			return false
		}
		pc.Close()
		return true
	}, "the UDP port of the dropped bind was never released")
}
