package app

import (
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// readyListener hands out n connections at once, then blocks until closed.
type readyListener struct {
	left   atomic.Int64
	given  atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func (l *readyListener) Accept() (net.Conn, error) {
	if l.left.Add(-1) >= 0 {
		l.given.Add(1)
		a, _ := net.Pipe()
		return a, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *readyListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *readyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// TestMaxAcceptYields: with tune.maxaccept N the accept loop lets other
// work run after every N connections accepted in a row (HAProxy's
// default 4); -1 never.
func TestMaxAcceptYields(t *testing.T) {
	for _, tc := range []struct {
		setting int
		want    []int64
	}{
		{0, []int64{4, 8}},
		{3, []int64{3, 6, 9}},
		{-1, nil},
	} {
		fl := &readyListener{closed: make(chan struct{})}
		fl.left.Store(10)
		var mu sync.Mutex
		var at []int64 // connections accepted at each yield
		l := &listener{addr: "127.0.0.1:0", ln: fl, done: make(chan struct{}), wg: &sync.WaitGroup{},
			log: slog.New(slog.DiscardHandler),
			yield: func() {
				mu.Lock()
				at = append(at, fl.given.Load())
				mu.Unlock()
			}}
		box := &handlerBox{h: &countingHandler{}, maxAccept: maxAccept(&config.Config{Global: config.Global{MaxAccept: tc.setting}})}
		l.handler.Store(box)
		go l.acceptLoop()
		deadline := time.Now().Add(30 * time.Second)
		for fl.given.Load() < 10 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		fl.Close()
		select {
		case <-l.done:
		case <-time.After(30 * time.Second):
			t.Fatal("accept loop did not stop")
		}
		mu.Lock()
		if !slices.Equal(at, tc.want) {
			t.Errorf("tune.maxaccept %d: yielded after %v accepts, want %v", tc.setting, at, tc.want)
		}
		mu.Unlock()
	}
}
