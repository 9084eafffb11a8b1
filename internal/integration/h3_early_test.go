package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// quicRelay forwards one client's UDP datagrams to a QUIC server and back.
// It holds back the client's Handshake packets (its Finished) for hold, so
// the server stays in early data meanwhile, and counts the server's Retry
// packets.
type quicRelay struct {
	Addr    string
	hold    time.Duration
	retries atomic.Int64
}

// QUIC v1 long header packet types (RFC 9000 §17.2).
func longType(b []byte) int {
	if len(b) == 0 || b[0]&0x80 == 0 {
		return -1 // short header
	}
	return int(b[0]&0x30) >> 4
}

func startQUICRelay(t *testing.T, server string, hold time.Duration) *quicRelay {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.Dial("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	r := &quicRelay{Addr: pc.LocalAddr().String(), hold: hold}
	type item struct {
		at time.Time
		p  []byte
	}
	toServer, toClient := make(chan item, 1024), make(chan item, 1024)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); pc.Close(); up.Close() })
	var mu sync.Mutex
	var client net.Addr
	var first time.Time // the client's first datagram
	// One sender per direction keeps the datagrams in order.
	send := func(q chan item, write func([]byte)) {
		for {
			select {
			case it := <-q:
				time.Sleep(time.Until(it.at))
				write(it.p)
			case <-stop:
				return
			}
		}
	}
	go send(toServer, func(p []byte) { up.Write(p) })
	go send(toClient, func(p []byte) {
		mu.Lock()
		c := client
		mu.Unlock()
		pc.WriteTo(p, c)
	})
	go func() { // server -> client
		for {
			buf := make([]byte, 65536)
			n, err := up.Read(buf)
			if err != nil {
				return
			}
			if longType(buf[:n]) == 3 {
				r.retries.Add(1)
			}
			at := time.Now()
			mu.Lock()
			if hold > 0 {
				// The server's first flight waits, so the client has sent
				// its early data before it could have 1-RTT keys.
				at = later(at, first.Add(300*time.Millisecond))
			}
			mu.Unlock()
			toClient <- item{at, buf[:n]}
		}
	}()
	go func() { // client -> server
		var last time.Time
		for {
			buf := make([]byte, 65536)
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			at := time.Now()
			mu.Lock()
			client = addr
			if first.IsZero() {
				first = at
			}
			mu.Unlock()
			if hold > 0 && longType(buf[:n]) == 2 {
				at = at.Add(hold) // the client's Finished
			}
			at = later(at, last)
			last = at
			toServer <- item{at, buf[:n]}
		}
	}()
	return r
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ticketCache is a TLS session cache that says when a ticket came.
type ticketCache struct {
	tls.ClientSessionCache
	got atomic.Bool
}

func (c *ticketCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.got.Store(true)
	}
	c.ClientSessionCache.Put(key, cs)
}

const h3EarlyConfig = `defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind %[1]s alpn h3 allow-0rtt
    bind %[2]s
    default_backend be

backend be
    server s1 `

// TestH3EarlyData: with allow-0rtt, a resumed client's requests sent as
// early data (0-RTT) are served only for safe methods, with Early-Data: 1
// toward the server (RFC 8470, as HAProxy adds it); a POST in early data
// gets 425 Too Early; once the handshake is complete the same POST goes
// through, without Early-Data. Without allow-0rtt no early data is
// accepted at all. A relay holds back the client's Finished, so the
// server is still in early data when the requests arrive.
func TestH3EarlyData(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	for _, allow := range []bool{true, false} {
		name := map[bool]string{true: "allow-0rtt", false: "default"}[allow]
		t.Run(name, func(t *testing.T) {
			cfg := h3EarlyConfig + echo.Addr + "\n"
			if !allow {
				cfg = strings.Replace(cfg, " allow-0rtt", "", 1)
			}
			e := startH3(t, cfg)
			cache := &ticketCache{ClientSessionCache: tls.NewLRUClientSessionCache(8)}
			tc := h3TLS(e)
			tc.ClientSessionCache = cache
			// A first connection gets a session ticket.
			warm := &http3.Transport{TLSClientConfig: tc}
			if resp, body := e.do(t, &http.Client{Transport: warm, Timeout: 20 * time.Second}, "GET", e.URL+"/warm", nil); resp.StatusCode != 200 {
				t.Fatalf("warm-up: %d %s", resp.StatusCode, body)
			}
			testenv.Eventually(t, 20*time.Second, cache.got.Load, "no session ticket")
			warm.Close()

			relay := startQUICRelay(t, testenv.LocalAddr(e.UDPPort), 1500*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := quic.DialAddrEarly(ctx, relay.Addr, tc, &quic.Config{Allow0RTT: true})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseWithError(0, "")
			cc := (&http3.Transport{}).NewClientConn(conn)
			send := func(method string) (*http.Response, string, error) {
				req, _ := http.NewRequestWithContext(ctx, method, "https://localhost/early", nil)
				rs, err := cc.OpenRequestStream(ctx)
				if err != nil {
					return nil, "", err
				}
				if err := rs.SendRequestHeader(req); err != nil {
					return nil, "", err
				}
				rs.Close()
				resp, err := rs.ReadResponse()
				if err != nil {
					return nil, "", fmt.Errorf("%s: %v", method, err)
				}
				b, err := io.ReadAll(resp.Body)
				return resp, string(b), err
			}
			type result struct {
				resp *http.Response
				body string
				err  error
			}
			wait := func(ch chan result) (*http.Response, string) {
				t.Helper()
				select {
				case r := <-ch:
					if r.err != nil {
						t.Fatal(r.err)
					}
					return r.resp, r.body
				case <-time.After(40 * time.Second):
					t.Fatal("no response")
				}
				return nil, ""
			}
			// Both leave as early data, and the server answers before the
			// handshake completes: the relay holds the client's Finished.
			getCh, postCh := make(chan result, 1), make(chan result, 1)
			go func() { r, b, err := send("GET"); getCh <- result{r, b, err} }()
			go func() { r, b, err := send("POST"); postCh <- result{r, b, err} }()
			getResp, getBody := wait(getCh)
			postResp, postBody := wait(postCh)
			select {
			case <-conn.HandshakeComplete():
			case <-ctx.Done():
				t.Fatal("handshake never completed")
			}
			used := conn.ConnectionState().Used0RTT
			if allow {
				if !used {
					t.Fatal("0-RTT was not accepted with allow-0rtt")
				}
				if getResp.StatusCode != 200 || !strings.Contains(getBody, `"Early-Data":["1"]`) {
					t.Errorf("GET in early data: %d %s, want 200 with Early-Data: 1 at the server", getResp.StatusCode, getBody)
				}
				if postResp.StatusCode != http.StatusTooEarly {
					t.Errorf("POST in early data: %d %s, want 425", postResp.StatusCode, postBody)
				}
			} else {
				if used {
					t.Fatal("0-RTT accepted without allow-0rtt")
				}
				if getResp.StatusCode != 200 || strings.Contains(getBody, "Early-Data") || postResp.StatusCode != 200 {
					t.Errorf("without allow-0rtt: GET %d %s, POST %d %s; want both served after the handshake, no Early-Data", getResp.StatusCode, getBody, postResp.StatusCode, postBody)
				}
			}
			// After the handshake nothing is early.
			req, _ := http.NewRequestWithContext(ctx, "POST", "https://localhost/early", strings.NewReader("data"))
			resp, err := cc.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			body := string(b)
			if resp.StatusCode != 200 || strings.Contains(body, "Early-Data") || !strings.Contains(body, `"body_len":4`) {
				t.Errorf("POST after the handshake: %d %s", resp.StatusCode, body)
			}
		})
	}
}

const h3RetryConfig = `defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind %[1]s alpn h3 quic-force-retry
    bind %[2]s
    default_backend be

backend be
    server s1 `

// TestH3ForceRetry: with quic-force-retry every new connection is first
// answered with a Retry (address validation, RFC 9000 §8.1.2), then served;
// without it, none.
func TestH3ForceRetry(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	for _, force := range []bool{true, false} {
		t.Run(map[bool]string{true: "quic-force-retry", false: "default"}[force], func(t *testing.T) {
			cfg := h3RetryConfig + echo.Addr + "\n"
			if !force {
				cfg = strings.Replace(cfg, " quic-force-retry", "", 1)
			}
			e := startH3(t, cfg)
			relay := startQUICRelay(t, testenv.LocalAddr(e.UDPPort), 0)
			for i := range 2 {
				before := relay.retries.Load()
				tr := &http3.Transport{TLSClientConfig: h3TLS(e)}
				c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
				_, port, _ := net.SplitHostPort(relay.Addr)
				if resp, body := e.do(t, c, "GET", "https://localhost:"+port+"/r", nil); resp.StatusCode != 200 {
					t.Fatalf("connection %d: %d %s", i, resp.StatusCode, body)
				}
				tr.Close()
				// One Retry per Initial without a token: a ClientHello
				// in two datagrams gets two.
				if got := relay.retries.Load() - before; force && got == 0 || !force && got != 0 {
					t.Errorf("connection %d: %d Retry packets", i, got)
				}
			}
		})
	}
}

// TestH3MaxConn: the frontend's maxconn counts QUIC connections; past it
// a new one is refused at once (a UDP socket cannot stop accepting), and
// once one closes a new one is served.
func TestH3MaxConn(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	cfg := strings.Replace(h3RetryConfig+echo.Addr+"\n", " quic-force-retry", "", 1)
	// 3: the TCP bind's accept loop holds a slot while it waits (it takes
	// one before accepting), startH3's client holds one connection open.
	cfg = strings.Replace(cfg, "frontend fe\n", "frontend fe\n    maxconn 3\n", 1)
	e := startH3(t, cfg)
	get := func(tr *http3.Transport) error {
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get(e.URL + "/m")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	second := &http3.Transport{TLSClientConfig: h3TLS(e)}
	defer second.Close()
	if err := get(second); err != nil {
		t.Fatalf("second connection: %v", err)
	}
	third := &http3.Transport{TLSClientConfig: h3TLS(e)}
	defer third.Close()
	// Closed during its handshake: the application's code is hidden
	// then (RFC 9000 §10.2.3), the client sees APPLICATION_ERROR.
	if err := get(third); err == nil || !strings.Contains(err.Error(), "APPLICATION_ERROR") {
		t.Fatalf("third connection past maxconn 3: %v, want refused", err)
	}
	second.Close()
	testenv.Eventually(t, 20*time.Second, func() bool {
		tr := &http3.Transport{TLSClientConfig: h3TLS(e)}
		defer tr.Close()
		return get(tr) == nil
	}, "no connection served after one closed")
}

// TestH3ClientTimeout: a client that stops taking a response (grants no
// more flow-control credit) for timeout client fails its stream, logged
// cD as over HTTP/1.1 and HTTP/2, instead of holding the transaction.
func TestH3ClientTimeout(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	cfg := strings.Replace(h3RetryConfig+echo.Addr+"\n", " quic-force-retry", "", 1)
	cfg = strings.Replace(cfg, "timeout client 30s", "timeout client 2s", 1)
	cfg = "global\n    log stdout format raw local0\n\n" + strings.Replace(cfg, "defaults\n", "defaults\n    log global\n    option httplog\n", 1)
	e := startH3(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/bytes/300000000", nil)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	// Read no more: the server's writes stall once the windows are full.
	start := time.Now()
	var line string
	testenv.Eventually(t, 30*time.Second, func() bool {
		for _, l := range strings.Split(e.G.Process.Output.Stdout(), "\n") {
			if strings.Contains(l, `"GET /bytes/300000000 HTTP/3.0"`) {
				line = l
				return true
			}
		}
		return false
	}, "the stalled download was never ended:\n%s", e.G.Process.Output.Stdout())
	if !strings.Contains(line, " cD-- ") {
		t.Errorf("stalled download logged %q, want cD--", line)
	}
	t.Logf("ended after %v: %s", time.Since(start).Round(time.Millisecond), line)
}
