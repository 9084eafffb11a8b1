package proxy

import (
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// deadlineConn records read deadlines; reads return at once.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.set = append(c.set, t)
	return nil
}

func (c *deadlineConn) Read(p []byte) (int, error) { return len(p), nil }

// The hot path keeps the deadline a connection holds when it fits: these
// are the cases where timedReader must arm one, and where it must not.
func TestTimedReaderDeadlines(t *testing.T) {
	c := &deadlineConn{}
	r := timedReader{c: c}
	now := clock.Mono()
	ms := int64(time.Millisecond)
	expectSets := func(what string, n int) {
		t.Helper()
		if len(c.set) != n {
			t.Fatalf("%s: %d deadlines set, want %d", what, len(c.set), n)
		}
	}

	r.expect(now+100*ms, 50*time.Millisecond)
	expectSets("first wait", 1)
	r.expect(now+130*ms, 50*time.Millisecond)
	expectSets("a wait 30ms later, slack 50ms: kept", 1)
	if r.limit != now+100*ms {
		t.Fatalf("kept deadline: limit %d, want the held one", r.limit-now)
	}
	r.expect(now+200*ms, 50*time.Millisecond)
	expectSets("a wait 100ms later: re-armed", 2)
	r.expect(now+150*ms, 50*time.Millisecond)
	expectSets("a shorter wait than the held deadline: re-armed", 3)
	r.expect(0, 0)
	expectSets("no timeout: cleared", 4)
	r.expect(0, 0)
	expectSets("no timeout again: nothing to clear", 4)

	// Absolute mode arms at the next read only.
	r.absolute(now + 5000*ms)
	expectSets("absolute, before any read", 4)
	r.Read(make([]byte, 1))
	expectSets("absolute, at the read", 5)
	r.Read(make([]byte, 1))
	expectSets("absolute, second read", 5)

	// Inactivity: a held deadline longer than the window is not kept (a
	// body read must not inherit a keep-alive deadline), one in its
	// second half is.
	r.inactivity(300 * time.Millisecond)
	r.Read(make([]byte, 1))
	expectSets("inactivity after a 5s deadline", 6)
	r.Read(make([]byte, 1))
	expectSets("inactivity, deadline fits", 6)
	r.until = -1 // a reload's wake-up moved it
	r.Read(make([]byte, 1))
	expectSets("inactivity after a wake-up", 7)
}

// waitConn is a connection whose writes report whether they waited, as a
// sock.Conn does; it records write deadlines.
type waitConn struct {
	deadlineConn
	waited bool
	wset   []time.Time
}

func (c *waitConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *waitConn) WriteWaited() bool           { return c.waited }
func (c *waitConn) SetWriteDeadline(t time.Time) error {
	c.wset = append(c.wset, t)
	return nil
}

// The transaction's clock reading feeds the deadlines until a read, or a
// write that waited, makes it stale; then the clock is read again.
func TestStampGoesStale(t *testing.T) {
	var clk stamp
	c := &waitConn{}
	w := timedWriter{c: c, idle: time.Minute, clk: &clk}
	past := clock.Mono() - int64(time.Hour)
	clk.set(past)

	w.Write([]byte("x"))
	if len(c.wset) != 1 || clock.At(c.wset[0]) != past+int64(time.Minute) {
		t.Fatalf("write deadline %v, want the stamp's reading + 1m", c.wset)
	}
	if clk.mono != past {
		t.Fatal("a write that did not wait spent the reading")
	}
	c.waited = true
	w.Write([]byte("x"))
	if clk.mono != 0 {
		t.Fatal("a write that waited kept the reading")
	}
	if now := clk.now(); now <= past {
		t.Fatal("a spent stamp did not read the clock")
	}

	clk.set(past)
	r := timedReader{c: c, clk: &clk}
	r.inactivity(time.Minute)
	r.Read(make([]byte, 1))
	if len(c.set) != 1 || clock.At(c.set[0]) != past+int64(time.Minute) {
		t.Fatalf("read deadline %v, want the stamp's reading + 1m", c.set)
	}
	if clk.mono != 0 {
		t.Fatal("a read kept the reading")
	}

	// A writer to a connection that cannot tell (TLS) always spends it.
	clk.set(past)
	plain := timedWriter{c: &deadlineConn{Conn: nopConn{}}, clk: &clk}
	plain.Write([]byte("x"))
	if clk.mono != 0 {
		t.Fatal("a write to a connection that cannot report waits kept the reading")
	}
}

type nopConn struct{ net.Conn }

func (nopConn) Write(p []byte) (int, error) { return len(p), nil }

// markDone reuses the reading only while it is fresh and the response
// went out through the timed writer (not an HTTP/2 stream).
func TestMarkDoneUsesFreshReading(t *testing.T) {
	var tx Txn
	past := clock.Mono() - int64(time.Hour)
	tx.clk.set(past)
	if got := clock.At(tx.markDone()); got != past {
		t.Fatalf("markDone with a fresh reading: %d, want %d", got, past)
	}
	tx = Txn{}
	tx.clk.set(past)
	tx.clk.spend()
	if got := clock.At(tx.markDone()); got <= past {
		t.Fatal("markDone after the reading went stale did not read the clock")
	}
}
