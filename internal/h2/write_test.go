package h2

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

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
