package h2

import (
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// writeCounter counts the server's writes to the socket.
type writeCounter struct {
	net.Conn
	writes atomic.Int32
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.Conn.Write(p)
}

// Streams whose responses end in the same scheduling round go out in one
// write: writeLoop flushes after the other runnable goroutines had their
// turn. Each stream used to flush its own response (one write each).
func TestStreamsEndingTogetherShareAWrite(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one P: the scheduling round is well defined
	const streams = 10
	release := make(chan struct{})
	var waiting sync.WaitGroup
	waiting.Add(streams)
	server, client := net.Pipe()
	counted := &writeCounter{Conn: server}
	c := NewConn(counted, &Config{}, func(st *Stream) {
		waiting.Done()
		<-release
		okHandler(st)
	})
	served := make(chan error, 1)
	go func() { served <- c.Serve() }()
	t.Cleanup(func() { client.Close(); c.Close(); <-served })

	raw := newRaw(t, client)
	raw.handshake()
	for i := range streams {
		raw.headers(uint32(2*i+1), true, getReq...)
	}
	waiting.Wait()
	// Drain what the server wrote so far (its SETTINGS ACK) while no
	// response can be written: every handler waits on release.
	raw.ping()
	before := counted.writes.Load()
	close(release)
	for ended := 0; ended < streams; {
		switch f := raw.read().(type) {
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended++
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("unexpected %v", f)
		}
	}
	if n := counted.writes.Load() - before; n > 2 {
		t.Fatalf("%d responses took %d writes, want them to share one or two", streams, n)
	}
}

// goroutineID is the number in the first line of the goroutine's stack dump.
func goroutineID() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	n, _ := strconv.Atoi(id)
	return n
}

// A stream's handler runs on a goroutine an earlier handler left waiting
// (its stack has grown already), and no more than maxIdleHandlers
// goroutines wait once a burst is over.
func TestHandlerGoroutinesAreReused(t *testing.T) {
	// One P hands out goroutine ids in creation order.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ids := make(chan int, 1)
	s := startServer(t, &Config{}, nil, func(st *Stream) {
		ids <- goroutineID()
		okHandler(st)
	})
	raw := dialRaw(t, s.addr())
	raw.handshake()
	raw.get(1)
	<-ids
	for idleHandlers.Load() == 0 {
		runtime.Gosched()
	}
	newest := make(chan int)
	go func() { newest <- goroutineID() }()
	created := <-newest
	raw.get(3)
	if id := <-ids; id > created {
		t.Fatalf("stream 3 ran on goroutine %d, created after goroutine %d: a new one, with %d waiting", id, created, idleHandlers.Load())
	}

	// A burst of more concurrent streams than may wait afterwards.
	const burst = maxIdleHandlers + 64
	release := make(chan struct{})
	var started, done sync.WaitGroup
	started.Add(burst)
	done.Add(burst)
	s2 := startServer(t, &Config{MaxConcurrentStreams: 2 * burst}, nil, func(st *Stream) {
		defer done.Done()
		started.Done()
		<-release
		okHandler(st)
	})
	raw2 := dialRaw(t, s2.addr())
	raw2.handshake()
	for i := range burst {
		raw2.headers(uint32(2*i+1), true, getReq...)
	}
	started.Wait()
	close(release)
	done.Wait()
	if n := idleHandlers.Load(); n > maxIdleHandlers {
		t.Fatalf("%d handler goroutines wait, want at most %d", n, maxIdleHandlers)
	}
}

// writeRecorder notes which goroutine made each write to the socket.
type writeRecorder struct {
	net.Conn
	mu  sync.Mutex
	ids []int
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.ids = append(w.ids, goroutineID())
	w.mu.Unlock()
	return w.Conn.Write(p)
}

func (w *writeRecorder) take() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := w.ids
	w.ids = nil
	return ids
}

// A stream alone on its connection has no other response to share a
// write with: its handler flushes the response itself. Handing the flush
// to the writer cost a goroutine wake-up (a new goroutine on a connection
// that was idle) and a yield per response. With two streams open, the
// first to end leaves its flush to the writer.
func TestLoneStreamFlushesItsOwnResponse(t *testing.T) {
	server, client := net.Pipe()
	rec := &writeRecorder{Conn: server}
	handlers := make(chan int, 2)
	release := make(chan struct{})
	c := NewConn(rec, &Config{}, func(st *Stream) {
		handlers <- goroutineID()
		if st.Request().Path() == "/hold" {
			<-release
		}
		okHandler(st)
	})
	served := make(chan error, 1)
	go func() { served <- c.Serve() }()
	t.Cleanup(func() { client.Close(); c.Close(); <-served })
	raw := newRaw(t, client)
	raw.handshake()
	raw.ping()
	rec.take()

	next := func() int {
		t.Helper()
		select {
		case id := <-handlers:
			return id
		case <-time.After(30 * time.Second):
			t.Fatal("no handler ran")
		}
		return 0
	}
	raw.get(1)
	h := next()
	ids := rec.take()
	if len(ids) == 0 {
		t.Fatal("no write for the response")
	}
	for _, id := range ids {
		if id != h {
			t.Fatalf("the response went out on goroutine %d, not its handler's (%d): writes %v", id, h, ids)
		}
	}

	// Two streams: the first to end is not alone.
	raw.headers(3, true, ":method", "GET", ":scheme", "https", ":path", "/hold", ":authority", "example.com")
	next()
	raw.get(5)
	h = next()
	for _, id := range rec.take() {
		if id == h {
			t.Fatalf("stream 5's handler (goroutine %d) flushed while stream 3 was open", h)
		}
	}
	close(release)
	if st, _, _ := raw.response(3); st != "200" {
		t.Fatalf("stream 3: status %s", st)
	}
}
