package app

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// TestAcceptLoopPausesOnRate: with maxconnrate 3 the accept loop takes 3
// of 10 waiting connections and then does not even call Accept (they stay
// in the kernel's backlog) until the rate allows more; "set rate-limit
// connections global 0" wakes it at once and it takes the rest. A stop
// ends a paused loop.
func TestAcceptLoopPausesOnRate(t *testing.T) {
	fl := &readyListener{closed: make(chan struct{})}
	fl.left.Store(10)
	p := ratelimit.NewProcess(ratelimit.Config{ConnRate: 3})
	stop := make(chan struct{})
	l := &listener{addr: "127.0.0.1:0", ln: fl, stop: stop, done: make(chan struct{}), wg: &sync.WaitGroup{},
		log: slog.New(slog.DiscardHandler), yield: func() {}}
	l.handler.Store(&handlerBox{h: &countingHandler{}, gate: &ratelimit.Gate{P: p}, replaced: make(chan struct{})})
	start := time.Now()
	go l.acceptLoop()
	deadline := time.Now().Add(30 * time.Second)
	for fl.given.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("accepted %d of the first 3", fl.given.Load())
		}
		time.Sleep(time.Millisecond)
	}
	// Until the first second is over, no fourth Accept: the count is read
	// before the clock, so a late reading only makes the check weaker.
	for {
		n := fl.given.Load()
		el := time.Since(start)
		if el >= 900*time.Millisecond {
			break
		}
		if n > 3 {
			t.Fatalf("%d connections accepted %v after the start, maxconnrate 3", n, el)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Set(ratelimit.ConnLimit, 0)
	for fl.given.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("limit lifted, yet only %d of 10 accepted", fl.given.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if got := p.Conn.Max(); got < 3 {
		t.Errorf("MaxConnRate %d: the accepted connections were not counted", got)
	}
	// Paused again (limit 1, reached), then stopped.
	p.Set(ratelimit.ConnLimit, 1)
	close(stop)
	fl.Close()
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a paused accept loop did not stop")
	}
}
