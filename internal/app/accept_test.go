package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// emfileListener fails every Accept with EMFILE until failUntil, then hands
// out one connection, then blocks until closed.
type emfileListener struct {
	failUntil time.Time
	fails     atomic.Int64
	gave      atomic.Bool
	closed    chan struct{}
	once      sync.Once
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if time.Now().Before(l.failUntil) {
		l.fails.Add(1)
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	if !l.gave.Swap(true) {
		a, _ := net.Pipe()
		return a, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *emfileListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *emfileListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) ServeConn(c net.Conn) { h.n.Add(1); c.Close() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Out of file descriptors, every accept fails: the failures are logged at
// most once a second, each line with the number of failures it stands
// for, and accepting resumes once descriptors are back.
func TestAcceptErrorsLoggedOncePerSecond(t *testing.T) {
	var out lockedBuffer
	fl := &emfileListener{failUntil: time.Now().Add(2500 * time.Millisecond), closed: make(chan struct{})}
	h := &countingHandler{}
	l := &listener{addr: "127.0.0.1:0", ln: fl, done: make(chan struct{}), wg: &sync.WaitGroup{},
		log: slog.New(slog.NewJSONHandler(&out, nil))}
	l.handler.Store(&handlerBox{h: h})
	start := time.Now()
	go l.acceptLoop()
	deadline := time.Now().Add(30 * time.Second)
	for h.n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no connection accepted after the failures; log:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	fl.Close()
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatal("accept loop did not stop")
	}

	type line struct {
		Time  time.Time `json:"time"`
		Msg   string    `json:"msg"`
		Err   string    `json:"err"`
		Count int64     `json:"count"`
	}
	var lines []line
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var ln line
		if err := json.Unmarshal(sc.Bytes(), &ln); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		lines = append(lines, ln)
	}
	fails := fl.fails.Load()
	if fails < 5 {
		t.Fatalf("only %d failed accepts in %v: the loop backs off too long", fails, elapsed)
	}
	if max := int(elapsed/time.Second) + 2; len(lines) > max || len(lines) == 0 {
		t.Fatalf("%d failed accepts in %v gave %d log lines, want 1..%d:\n%s", fails, elapsed, len(lines), max, out.String())
	}
	var sum int64
	for i, ln := range lines {
		if ln.Msg != "accept failed" || !strings.Contains(ln.Err, "too many open files") || ln.Count < 1 {
			t.Errorf("line %d: %+v", i, ln)
		}
		if i > 0 && ln.Time.Sub(lines[i-1].Time) < 900*time.Millisecond {
			t.Errorf("lines %d and %d %v apart", i-1, i, ln.Time.Sub(lines[i-1].Time))
		}
		sum += ln.Count
	}
	if lines[0].Count != 1 {
		t.Errorf("the first failure is reported at once, alone: %+v", lines[0])
	}
	// No line claims more failures than happened; those after the last
	// line within its second wait for the next one.
	if sum > fails {
		t.Errorf("lines count %d failures, %d happened", sum, fails)
	}
}
