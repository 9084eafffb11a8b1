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

// BenchmarkIdentityThroughput is acceptance 3: Gatehouse (a process, real
// provider) on one configuration, requests with a valid session cookie and
// with a valid bearer JWT against unauthenticated requests to a public path
// of the same frontend. The upstream is a minimal HTTP responder so the
// edge's own cost is what differs. Reported: requests/s of each kind and
// the ratios session/unauth and bearer/unauth (the target is >= 0.85).
// Rounds are interleaved (A B C A B C ...) and the best round of each kind
// is kept, so a noisy neighbour does not decide the ratio.
//
//	go test -run '^$' -bench IdentityThroughput -benchtime 20000x ./internal/integration/
func BenchmarkIdentityThroughput(b *testing.B) {
	env := startIdentityEnvUpstream(b, fastUpstream(b))

	c, _ := newBrowserClient(b)
	start, _ := http.NewRequest("GET", env.Edge+"/app/home", nil)
	resp := loginHTTP(b, env, c, start, opUser, opPassword)
	resp.Body.Close()
	var cookie []string
	for _, ck := range sessionCookies(b, env, c) {
		cookie = append(cookie, ck.Name+"="+ck.Value)
	}
	if len(cookie) == 0 {
		b.Fatal("no session cookie after login")
	}
	bearer := clientCredentials(b, env, "robot-staff", apiAudience)

	host := fmt.Sprintf("Host: localhost:%d\r\n", env.EdgePort)
	kinds := []struct{ name, req string }{
		{"unauth", "GET /public/items?id=42 HTTP/1.1\r\n" + host + "Accept: */*\r\n\r\n"},
		{"session", "GET /app/items?id=42 HTTP/1.1\r\n" + host + "Accept: */*\r\nCookie: " + strings.Join(cookie, "; ") + "\r\n\r\n"},
		{"bearer", "GET /app/items?id=42 HTTP/1.1\r\n" + host + "Accept: */*\r\nAuthorization: Bearer " + bearer + "\r\n\r\n"},
	}
	const conns, rounds = 8, 5
	best := make([]float64, len(kinds))
	for r := 0; r < rounds; r++ {
		for i, k := range kinds {
			rps := loadRound(b, testenv.LocalAddr(env.EdgePort), []byte(k.req), conns, max(b.N/conns, 200))
			best[i] = max(best[i], rps)
		}
	}
	for i, k := range kinds {
		b.ReportMetric(best[i], k.name+"_req/s")
	}
	b.ReportMetric(best[1]/best[0], "session/unauth")
	b.ReportMetric(best[2]/best[0], "bearer/unauth")
}

// loadRound sends n keep-alive requests on each of conns connections in
// parallel and returns the request rate. Every response must be a 200.
func loadRound(b *testing.B, addr string, req []byte, conns, n int) float64 {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	begin := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := keepAliveRequests(addr, req, n); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(conns*n) / elapsed.Seconds()
}

func keepAliveRequests(addr string, req []byte, n int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 8192)
	for i := 0; i < n; i++ {
		if _, err := conn.Write(req); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("request %d: status %d", i, resp.StatusCode)
		}
	}
	return nil
}

// fastUpstream answers every keep-alive request with a fixed small
// response, so the benchmark measures the edge rather than a backend.
func fastUpstream(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n")
	go acceptLoop(ln, resp)
	return ln.Addr().String()
}

func acceptLoop(ln net.Listener, resp []byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serveFixed(c, resp)
	}
}

// serveFixed reads request heads (bodiless) and answers each with resp.
func serveFixed(c net.Conn, resp []byte) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}
