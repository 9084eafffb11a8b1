// Command h3load is an HTTP/3 load generator (Debian 12's h2load has no
// HTTP/3): -c QUIC connections, each with -m requests in flight (one
// goroutine per stream slot, a new request as soon as one ends), for -d after
// -warmup. It prints one line:
//
//	requests=N errors=E rps=R p50_us=A p99_us=B proto=HTTP/3.0
//
// errors counts failed requests and statuses outside 2xx/3xx. The first
// response must be HTTP/3, or it fails: a fallback would measure the wrong
// thing. The certificate is verified against -ca, with -sni as the name.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

func main() {
	conns := flag.Int("c", 32, "QUIC connections")
	streams := flag.Int("m", 10, "requests in flight per connection")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time before -d")
	url := flag.String("url", "", "https://host:port/path (the host part is dialed)")
	caFile := flag.String("ca", "", "CA certificate (PEM) that signs the server's")
	sni := flag.String("sni", "", "server name to send and verify")
	connect := flag.String("connect", "", "host:port to dial instead of the URL's (the URL's host stays the :authority)")
	flag.Parse()
	if *url == "" || *caFile == "" {
		fmt.Fprintln(os.Stderr, "h3load: -url and -ca are required")
		os.Exit(2)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail(fmt.Errorf("no certificate in %s", *caFile))
	}
	tc := &tls.Config{RootCAs: pool, ServerName: *sni, NextProtos: []string{http3.NextProtoH3}}

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		errs      atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		wg        sync.WaitGroup
		protoErr  atomic.Value
	)
	transports := make([]*http3.Transport, *conns)
	for i := range transports {
		// One transport per connection: a transport keeps one connection
		// per authority.
		transports[i] = &http3.Transport{TLSClientConfig: tc, QUICConfig: &quic.Config{MaxIdleTimeout: time.Minute}}
		if *connect != "" {
			transports[i].Dial = func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				return quic.DialAddrEarly(ctx, *connect, tc, qc)
			}
		}
	}
	for _, tr := range transports {
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		for range *streams {
			wg.Go(func() {
				var mine []time.Duration
				for !stop.Load() {
					t0 := time.Now()
					resp, err := c.Get(*url)
					ok := err == nil
					if ok {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						ok = err == nil && resp.StatusCode < 400
						if resp.Proto != "HTTP/3.0" {
							protoErr.Store(resp.Proto)
						}
					}
					if !measuring.Load() {
						continue
					}
					if !ok {
						errs.Add(1)
						continue
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(*dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		fail(fmt.Errorf("requests still running 40s after the end"))
	}
	for _, tr := range transports {
		tr.Close()
	}
	if p := protoErr.Load(); p != nil {
		fail(fmt.Errorf("a response came over %v, not HTTP/3.0", p))
	}
	if len(lat) == 0 {
		fail(fmt.Errorf("no request succeeded (%d errors)", errs.Load()))
	}
	slices.Sort(lat)
	pct := func(p float64) int64 { return lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds() }
	fmt.Printf("requests=%d errors=%d rps=%.1f p50_us=%d p99_us=%d proto=HTTP/3.0\n",
		len(lat), errs.Load(), float64(len(lat))/elapsed.Seconds(), pct(0.50), pct(0.99))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "h3load:", err)
	os.Exit(1)
}
