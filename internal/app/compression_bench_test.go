package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rusageCPU is the process's user and system time so far.
func rusageCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPage is bench/run.sh's compress page: a 64 KiB HTML table whose
// rows vary, so it deflates to about a fifth.
func benchPage() string {
	var b strings.Builder
	b.WriteString("<html><body><table>\n")
	words := "alpha bravo charlie delta echo foxtrot golf hotel india juliet"
	for i := 1; b.Len() < 64<<10; i++ {
		o := (i * 7) % 40
		fmt.Fprintf(&b, "<tr><td class=\"id\">%d</td><td>item-%08x</td><td>%s</td><td>%d.%02d</td></tr>\n",
			i, (uint64(i)*2654435761)%4294967296, words[o:min(o+18, len(words))], i%97, (i*13)%100)
	}
	return b.String()[:64<<10]
}

// pageServer answers every keep-alive request with page as text/html.
func pageServer(b *testing.B, page string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(page), page))
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

// BenchmarkProxyCompressed: one keep-alive request for a 64 KiB text/html
// page, compressed with gzip by the proxy and read (still compressed) by
// the client: the compressed response path end to end. SetBytes is the
// page, so MB/s is uncompressed throughput.
func BenchmarkProxyCompressed(b *testing.B) {
	page := benchPage()
	srv := pageServer(b, page)
	port := freePort(b)
	c, err := parseText(testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    compression algo gzip
    compression type text/html
    default_backend app
backend app
    server s1 %s
`, port, srv))
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
	req := []byte("GET /page.html HTTP/1.1\r\nHost: app.example.com\r\nAccept-Encoding: gzip\r\n\r\n")
	br := bufio.NewReaderSize(conn, 64<<10)
	var wire int64
	roundTrip := func() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			b.Fatalf("not compressed: %v", resp.Header)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			b.Fatal(err)
		}
		wire = n
	}
	for range 20 {
		roundTrip()
	}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	cpu0 := rusageCPU()
	b.ResetTimer()
	for range b.N {
		roundTrip()
	}
	b.StopTimer()
	b.ReportMetric(float64(wire)/float64(len(page)), "ratio")
	// CPU time (proxy, client and server together) holds better than wall
	// time on a shared machine.
	b.ReportMetric(float64((rusageCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
