package sock

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Requests that go upstream in one scheduling round are sent together.
// HAProxy sends the requests of every stream its poll loop found ready in
// one tight loop, so the server (nginx on the other CPU) is woken once and
// finds the rest queued when it runs; a goroutine per stream sent each as
// it got to run, between the others' client reads and parsing, and the
// server went back to sleep between them: every request paid a cross-CPU
// wake-up (~10% of the proxy's CPU in try_to_wake_up, bench/profile.md).
// A read that holds its request (HoldForAnswer) hands it to the batch from
// its netpoller callback and waits; the batch's goroutine yields once, so
// the other runnable goroutines queue theirs, and sends them all.

// batchMax bounds a request the batch sends: a larger one is sent by its
// reader, which may have to wait for room.
const batchMax = 4 << 10

type sendBatch struct {
	mu      sync.Mutex
	q       []*Conn
	spare   []*Conn
	running bool // loop is sending or about to
	started bool
	wake    chan struct{}
	most    int // the largest batch sent, for the tests
}

// batches has a batch per P (GOMAXPROCS at first use): one goroutine
// sending every request of a many-core proxy would be its bottleneck. A
// Conn keeps the batch it was first given.
var batches struct {
	once sync.Once
	all  []sendBatch
	next atomic.Uint32
}

func batchFor() *sendBatch {
	batches.once.Do(func() {
		batches.all = make([]sendBatch, min(runtime.GOMAXPROCS(0), 64))
	})
	return &batches.all[int(batches.next.Add(1))%len(batches.all)]
}

// add queues c, whose reader holds wmu, which the batch unlocks once sent.
func (b *sendBatch) add(c *Conn) {
	b.mu.Lock()
	b.q = append(b.q, c)
	wake := !b.running
	b.running = true
	if !b.started {
		// The goroutine lives on, parked when idle: one per P.
		b.started = true
		b.wake = make(chan struct{}, 1)
		go b.loop()
	}
	b.mu.Unlock()
	if wake {
		b.wake <- struct{}{}
	}
}

func (b *sendBatch) loop() {
	for range b.wake {
		for {
			runtime.Gosched()
			b.mu.Lock()
			q := b.q
			if len(q) == 0 {
				b.running = false
				b.mu.Unlock()
				break
			}
			b.q = b.spare[:0]
			b.most = max(b.most, len(q))
			b.mu.Unlock()
			for i, c := range q {
				c.flushHeld()
				q[i] = nil
			}
			b.spare = q
		}
	}
}

// flushHeld sends c's held request for its waiting reader, then hands wmu
// back. What the send could not do (a full buffer, an error, a closed
// descriptor) ends the reader's wait, which finds it in ans.
func (c *Conn) flushHeld() {
	a := &c.ans
	if err := c.rc.Write(a.onFlush); err != nil {
		a.ferr = err
	}
	if a.ferr != nil || a.rest || a.serr != 0 {
		c.kick()
	} else {
		a.empty()
	}
	c.wmu.Unlock()
}

// flush is flushHeld's RawConn.Write callback.
func (c *Conn) flush(fd uintptr) bool {
	c.sendHeldOn(fd)
	return true
}
