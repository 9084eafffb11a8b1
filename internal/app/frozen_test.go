package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// freezable is an HTTP server that can be frozen like a SIGSTOPped
// process: the kernel still completes handshakes into the backlog, but
// nothing is accepted, read or answered any more.
type freezable struct {
	ln     net.Listener
	frozen atomic.Bool
	thaw   chan struct{}
	after  atomic.Int64 // /after requests read while frozen
}

func startFreezable(t *testing.T) *freezable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezable{ln: ln, thaw: make(chan struct{})}
	t.Cleanup(func() { close(f.thaw); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
			if f.frozen.Load() {
				return // stop accepting: the backlog takes the rest
			}
		}
	}()
	return f
}

func (f *freezable) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		if f.frozen.Load() {
			<-f.thaw
			return
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		if f.frozen.Load() {
			if req.URL.Path == "/after" {
				f.after.Add(1)
			}
			<-f.thaw
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfrozen")
	}
}

// udpLines collects every datagram sent to a UDP log target.
func udpLines(t *testing.T) (addr string, lines func() []string) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 8192)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	return pc.LocalAddr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestFrozenServerIsLeft: a server that stops answering (SIGSTOP: it still
// completes TCP handshakes) while traffic runs is marked DOWN by its
// checks' timeouts, every request in the meantime gets an answer, and once
// it is DOWN no new request is sent to it. (The other server has no check:
// on a busy machine its own 200 ms checks could time out.)
func TestFrozenServerIsLeft(t *testing.T) {
	frozen := startFreezable(t)
	live := echoBackend(t, "live")
	sink, lines := udpLines(t)
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 500ms
    timeout client 10s
    timeout server 1s
    retries 3
    option redispatch

frontend fe
    bind 127.0.0.1:%d
    log udp@%s format raw local0
    log-format "%%s %%rc %%ST %%Ta %%HU"
    default_backend app

backend app
    log udp@%s format raw local0
    option httpchk GET /health
    server frozen %s check inter 200ms fall 3 rise 2
    server live %s
`, port, sink, sink, frozen.ln.Addr(), hostPort(live)))

	cl := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (int, error) {
		resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Warm up: both servers serve, keep-alive connections are pooled.
	for i := 0; i < 10; i++ {
		if st, err := get("/before"); err != nil || st != 200 {
			t.Fatalf("before the freeze: %d %v", st, err)
		}
	}

	frozen.frozen.Store(true)
	froze := time.Now()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if st, err := get("/during"); err != nil || (st != 200 && st != 504) {
					failed.Add(1)
					t.Errorf("during the freeze: %d %v", st, err)
				}
			}
		}()
	}
	isDown := func() bool {
		for _, l := range lines() {
			if strings.Contains(l, "Server app/frozen is DOWN") {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for !isDown() {
		if time.Now().After(deadline) {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("frozen server not marked DOWN after 30s; log:\n%s", strings.Join(lines(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// fall × (inter + check timeout, which is inter without "timeout check").
	t.Logf("marked DOWN %v after the freeze (fall×(inter+timeout) = 1.2s)", time.Since(froze).Round(time.Millisecond))
	stop.Store(true)
	wg.Wait()

	for i := 0; i < 20; i++ {
		if st, err := get("/after"); err != nil || st != 200 {
			t.Fatalf("after DOWN: %d %v", st, err)
		}
	}
	if got := frozen.after.Load(); got != 0 {
		t.Errorf("%d requests reached the frozen server after it was marked DOWN", got)
	}
	logDeadline := time.Now().Add(30 * time.Second)
	var after []string
	for {
		after = nil
		for _, l := range lines() {
			if strings.Contains(l, "/after") {
				after = append(after, l)
			}
		}
		if len(after) >= 20 || time.Now().After(logDeadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(after) < 20 {
		t.Fatalf("%d of 20 requests after DOWN logged within 30s", len(after))
	}
	for _, l := range after {
		if !strings.Contains(l, "live 0 200 ") {
			t.Errorf("after DOWN, logged %q: want server live, no retry", l)
		}
	}
}
