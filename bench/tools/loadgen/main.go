// Command loadgen sends HTTP/1.1 keep-alive requests at a fixed rate and
// reports latency percentiles free of coordinated omission (as wrk2 does):
// every request has an intended start time on a fixed schedule, and its
// latency is measured from that time, not from when it was actually sent, so
// a stalled connection is charged for every request it delayed.
//
// -c connections each carry an even share of -rate, offset so that the
// schedules interleave. After -warmup, it records for -d and prints one line:
//
//	requests=N errors=E rate=R p50_us=A p90_us=B p99_us=C p999_us=D max_us=M
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "", "server address host:port")
	host := flag.String("host", "bench.test", "Host header")
	path := flag.String("path", "/", "request path")
	rate := flag.Float64("rate", 5000, "requests per second, all connections together")
	nconn := flag.Int("c", 50, "keep-alive connections")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	warm := flag.Duration("warmup", 2*time.Second, "unmeasured lead-in at the same rate")
	flag.Parse()
	if *addr == "" || *rate <= 0 || *nconn <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -addr, -rate > 0 and -c > 0 are required")
		os.Exit(2)
	}
	req := []byte("GET " + *path + " HTTP/1.1\r\nHost: " + *host + "\r\nUser-Agent: loadgen\r\n\r\n")
	interval := time.Duration(float64(time.Second) * float64(*nconn) / *rate)
	start := time.Now().Add(50 * time.Millisecond)
	measureFrom := start.Add(*warm)
	end := measureFrom.Add(*dur)

	type result struct {
		lat  []int64
		errs int
		err  error
	}
	results := make([]result, *nconn)
	var wg sync.WaitGroup
	for k := 0; k < *nconn; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			r := &results[k]
			r.lat = make([]int64, 0, int(float64(*dur)/float64(interval))+16)
			offset := time.Duration(int64(interval) * int64(k) / int64(*nconn))
			var c *conn
			for i := int64(0); ; i++ {
				intended := start.Add(offset + time.Duration(i)*interval)
				if !intended.Before(end) {
					break
				}
				if d := time.Until(intended); d > 0 {
					time.Sleep(d)
				}
				if c == nil {
					var err error
					if c, err = dial(*addr); err != nil {
						r.errs++
						r.err = err
						continue
					}
				}
				if err := c.roundTrip(req); err != nil {
					c.nc.Close()
					c = nil
					r.errs++
					r.err = err
					continue
				}
				if !intended.Before(measureFrom) {
					r.lat = append(r.lat, int64(time.Since(intended)))
				}
			}
			if c != nil {
				c.nc.Close()
			}
		}(k)
	}
	wg.Wait()
	var all []int64
	errs := 0
	var firstErr error
	for _, r := range results {
		all = append(all, r.lat...)
		errs += r.errs
		if firstErr == nil {
			firstErr = r.err
		}
	}
	if len(all) == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no successful request:", firstErr)
		os.Exit(1)
	}
	slices.Sort(all)
	q := func(p float64) int64 {
		i := int(p*float64(len(all))+0.5) - 1
		i = max(0, min(i, len(all)-1))
		return all[i] / 1000
	}
	fmt.Printf("requests=%d errors=%d rate=%.0f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
		len(all), errs, float64(len(all))/dur.Seconds(), q(0.50), q(0.90), q(0.99), q(0.999), all[len(all)-1]/1000)
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "loadgen: first error:", firstErr)
	}
}

type conn struct {
	nc net.Conn
	br *bufio.Reader
}

func dial(addr string) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 16384)}, nil
}

// roundTrip writes req and reads one response (Content-Length framed).
func (c *conn) roundTrip(req []byte) error {
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(req); err != nil {
		return err
	}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("status %q", strings.TrimSpace(string(status)))
	}
	cl := int64(-1)
	closeAfter := false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(string(k)) {
		case "content-length":
			cl, _ = strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		case "connection":
			closeAfter = strings.EqualFold(strings.TrimSpace(string(v)), "close")
		}
	}
	if cl < 0 {
		return errors.New("response without Content-Length")
	}
	if _, err := c.br.Discard(int(cl)); err != nil {
		return err
	}
	if closeAfter {
		return io.EOF
	}
	return nil
}
