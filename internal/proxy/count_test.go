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
