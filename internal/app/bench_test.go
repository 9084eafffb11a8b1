package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
)

// rawHTTPServer answers every request on a keep-alive connection with a
// fixed small response, so the benchmark measures the proxy, not net/http.
func rawHTTPServer(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// Requests carry no body: read up to the blank line.
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
			}(c)
		}
	}()
	return ln.Addr().String()
}

// BenchmarkProxyKeepAlive measures one small keep-alive request through
// the whole pipeline (codec, rules, routing, pooled upstream exchange,
// relay, counters) and reports allocations per request.
func BenchmarkProxyKeepAlive(b *testing.B) { benchKeepAlive(b, "") }

// BenchmarkProxyKeepAliveRateLimit is the same with a per-source rate
// limit on every request (track-sc0 src, one sc_http_req_rate check), the
// issue's "rate-limited plain"; compare its ns/op with the plain one.
func BenchmarkProxyKeepAliveRateLimit(b *testing.B) {
	benchKeepAlive(b, `
    stick-table type ip size 100k expire 30s store http_req_rate(10s),conn_cur,gpc0
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000000 }`)
}

// BenchmarkProxyKeepAliveVars is the same with a txn variable set from
// the path and read back into a request header on every request; compare
// its ns/op and allocs/op with the plain one.
func BenchmarkProxyKeepAliveVars(b *testing.B) {
	benchKeepAlive(b, `
    http-request set-var(txn.path) path
    http-request set-header X-Path %[var(txn.path)]`)
}

func benchKeepAlive(b *testing.B, frontendRules string) {
	srv := rawHTTPServer(b)
	port := freePort(b)
	c, err := parseText(testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    option forwardfor%s
    http-request set-header X-Edge gatehouse
    http-request deny if { path_beg /admin }
    default_backend app
backend app
    http-request set-header Host app.mesh.local
    server s1 %s
`, port, frontendRules, srv))
	if err != nil {
		b.Fatal(err)
	}
	g, err := Build(c, "bench")
	if err != nil {
		b.Fatal(err)
	}
	rt := NewRuntime(nil)
	if err := rt.Apply(g); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Shutdown() })
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("GET /api/items?id=42 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReaderSize(conn, 4096)
	buf := make([]byte, 4096)
	roundTrip := func() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		// Read the head, then the 6-byte body.
		n := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			n++
			if len(line) <= 2 {
				break
			}
		}
		if _, err := io.ReadFull(br, buf[:6]); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		roundTrip() // warm the pools
	}
	b.ReportAllocs()
	cpu0 := rusageCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		roundTrip()
	}
	b.StopTimer()
	// CPU time (proxy, client and server together) holds better than wall
	// time on a shared machine: compare the variants' cpu-ns/op.
	b.ReportMetric(float64((rusageCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
