// Command idleconns measures a proxy's resident memory per idle keep-alive
// client connection: it reads VmRSS of -pid, opens -n connections to -addr,
// sends one small keep-alive request on each and reads the whole response (so
// every connection has been through a full exchange and sits idle in the
// proxy's keep-alive wait, as a browser's would), waits -settle, reads VmRSS
// again, checks that the connections are still open, and prints one line:
//
//	conns=N rss_before_kb=A rss_after_kb=B per_conn_bytes=C errors=E closed=K
//
// -proto h2c (HTTP/2 with prior knowledge) or h2 (TLS, ALPN h2) opens
// HTTP/2 connections instead: the SETTINGS exchange, then one request on
// stream 1, read to its end.
//
// It holds the connections until it has printed; then it closes them all.
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/bench/tools/internal/h2cli"
)

// idler is an open connection that made its request.
type idler interface {
	SetReadDeadline(time.Time) error
	Read([]byte) (int, error)
	Close() error
}

func main() {
	addr := flag.String("addr", "", "proxy address host:port")
	n := flag.Int("n", 10000, "connections to open")
	pid := flag.Int("pid", 0, "process whose VmRSS is measured")
	host := flag.String("host", "bench.test", "Host header")
	path := flag.String("path", "/", "request path")
	par := flag.Int("parallel", 32, "connections opened at once")
	settle := flag.Duration("settle", 3*time.Second, "wait after the last connection before measuring")
	proto := flag.String("proto", "h1", "h1 (HTTP/1.1), h2c (HTTP/2 prior knowledge) or h2 (HTTP/2 over TLS, ALPN h2)")
	flag.Parse()
	if *addr == "" || *pid == 0 {
		fmt.Fprintln(os.Stderr, "idleconns: -addr and -pid are required")
		os.Exit(2)
	}
	before, err := vmRSS(*pid)
	if err != nil {
		fatal(err)
	}
	req := []byte("GET " + *path + " HTTP/1.1\r\nHost: " + *host + "\r\nUser-Agent: idleconns\r\n\r\n")
	var dial func() (idler, error)
	switch *proto {
	case "h1":
		dial = func() (idler, error) { return open(*addr, req) }
	case "h2c", "h2":
		useTLS := *proto == "h2"
		dial = func() (idler, error) { return openH2(*addr, *host, *path, useTLS) }
	default:
		fatal(errors.New("-proto is h1, h2c or h2"))
	}
	conns := make([]idler, *n)
	var errs atomic.Int64
	var firstErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				c, err := dial()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	time.Sleep(*settle)
	after, err := vmRSS(*pid)
	if err != nil {
		fatal(err)
	}
	// Still open? A read with an immediate deadline times out on a live,
	// idle connection and returns EOF/reset on one the proxy closed.
	closed := 0
	open := 0
	one := make([]byte, 512)
	for _, c := range conns {
		if c == nil {
			continue
		}
		open++
		if !stillOpen(c, one, *proto != "h1") {
			closed++
		}
	}
	live := open - closed
	per := int64(0)
	if live > 0 {
		per = (after - before) * 1024 / int64(live)
	}
	fmt.Printf("conns=%d rss_before_kb=%d rss_after_kb=%d per_conn_bytes=%d errors=%d closed=%d\n",
		live, before, after, per, errs.Load(), closed)
	if e, ok := firstErr.Load().(string); ok {
		fmt.Fprintln(os.Stderr, "idleconns: first error:", e)
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// stillOpen: over HTTP/1.1 any byte means the proxy said something it
// should not have (or closed); over HTTP/2 frames may still be queued (a
// SETTINGS acknowledgement, a WINDOW_UPDATE), so they are read past, and a
// GOAWAY shows as the close that follows it.
func stillOpen(c idler, buf []byte, framed bool) bool {
	for range 64 {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(buf)
		if err != nil {
			return isTimeout(err)
		}
		if !framed {
			return false
		}
	}
	return false
}

// openH2 opens an HTTP/2 connection and makes one request on it.
func openH2(addr, host, path string, useTLS bool) (idler, error) {
	c, err := h2cli.Dial(addr, host, path, useTLS, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if err := c.Get(); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return h2idler{c}, nil
}

type h2idler struct{ *h2cli.Conn }

func (c h2idler) SetReadDeadline(t time.Time) error { return c.SetDeadline(t) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// open dials, sends req and reads one response with a Content-Length body.
func open(addr string, req []byte) (idler, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 4096)
	status, err := br.ReadSlice('\n')
	if err != nil {
		c.Close()
		return nil, err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		c.Close()
		return nil, fmt.Errorf("status %q", strings.TrimSpace(string(status)))
	}
	cl := int64(-1)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(k), "content-length") {
			cl, _ = strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		}
	}
	if cl < 0 {
		c.Close()
		return nil, errors.New("response without Content-Length")
	}
	if _, err := io.CopyN(io.Discard, br, cl); err != nil {
		c.Close()
		return nil, err
	}
	if br.Buffered() != 0 {
		c.Close()
		return nil, errors.New("unexpected bytes after the response")
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "idleconns:", err)
	os.Exit(1)
}
