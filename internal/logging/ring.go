package logging

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// A Ring is HAProxy's "ring" section: a bounded in-memory buffer of log
// events that "log ring@<name>" targets write into, that the runtime API's
// "show events <name>" reads, and that forwards every event to its servers
// over TCP. As in HAProxy, an event a connected or disconnected server has
// not read yet is never purged: when the ring is full of such events, new
// ones are dropped (and counted), so the ring moves at its slowest
// server's pace.
type Ring struct {
	o RingOptions

	mu      sync.Mutex
	events  [][]byte // oldest first
	first   uint64   // sequence number of events[0]
	used    int      // bytes the events take, HAProxy's accounting
	dropped uint64
	readers []*ringReader
	wake    chan struct{} // closed and replaced on each write
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// RingOptions configure a Ring.
type RingOptions struct {
	Name, Description string
	Format            LogFormat
	MaxLen            int // an event's length, header included
	Size              int // the buffer's bytes
	// ConnectTimeout and ServerTimeout ("timeout connect|server") bound a
	// connection attempt and a write to a server.
	ConnectTimeout, ServerTimeout time.Duration
	Servers                       []RingServer
	// Log reports forwarding failures; nil drops them.
	Log func(string)
}

// RingServer is a ring's "server" line.
type RingServer struct {
	Name, Addr  string
	OctetCount  bool // "log-proto octet-count" (RFC 6587 3.4.1); else a '\n' ends each event
	reconnDelay time.Duration
}

type ringReader struct {
	next uint64 // the sequence number it reads next
}

// eventCost is what an event takes in HAProxy's ring: its bytes, the
// varint of its length and the readers' counter byte.
func eventCost(n int) int {
	c := 2
	for v := n; v >= 240; v = (v - 240) >> 4 { // HAProxy's varint
		c++
	}
	return n + c
}

// NewRing builds the ring; Start starts its forwarders.
func NewRing(o RingOptions) *Ring {
	r := &Ring{o: o, wake: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for range o.Servers {
		// Every server starts at the oldest event (HAProxy's ofs ~0).
		r.readers = append(r.readers, &ringReader{})
	}
	return r
}

// Name is the ring's name.
func (r *Ring) Name() string { return r.o.Name }

// Start connects the forwarders.
func (r *Ring) Start() {
	for i, s := range r.o.Servers {
		r.wg.Add(1)
		go r.forward(s, r.readers[i])
	}
}

// Close stops the forwarders and waits for them.
func (r *Ring) Close() {
	r.cancel()
	r.wg.Wait()
}

// Write stores one event (a framed line without its final newline),
// truncated to MaxLen.
func (r *Ring) Write(ev []byte) {
	if len(ev) > r.o.MaxLen {
		ev = ev[:r.o.MaxLen]
	}
	cost := eventCost(len(ev))
	r.mu.Lock()
	defer r.mu.Unlock()
	if cost > r.o.Size {
		r.dropped++
		return
	}
	minRead := r.first + uint64(len(r.events))
	for _, rd := range r.readers {
		minRead = min(minRead, rd.next)
	}
	for r.used+cost > r.o.Size {
		if len(r.events) == 0 || r.first >= minRead {
			r.dropped++ // the oldest is still due to a server
			return
		}
		r.used -= eventCost(len(r.events[0]))
		r.events[0] = nil
		r.events = r.events[1:]
		r.first++
	}
	r.events = append(r.events, append([]byte(nil), ev...))
	r.used += cost
	close(r.wake)
	r.wake = make(chan struct{})
}

// Dropped is the number of events that found the ring full.
func (r *Ring) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// ShowEvents writes "show events <name>": every event in the ring, oldest
// first, one per line; with seekEnd ("-n") nothing that is already there.
func (r *Ring) ShowEvents(w io.Writer, seekEnd bool) error {
	if seekEnd {
		return nil
	}
	r.mu.Lock()
	evs := append([][]byte(nil), r.events...)
	r.mu.Unlock()
	for _, e := range evs {
		if _, err := w.Write(append(append([]byte(nil), e...), '\n')); err != nil {
			return err
		}
	}
	return nil
}

// ShowSink writes the ring's line of "show events" without a name, as
// HAProxy lists its sinks.
func (r *Ring) ShowSink(w io.Writer) {
	desc := r.o.Description
	if desc == "" {
		desc = r.o.Name
	}
	fmt.Fprintf(w, "    %-10s : type=buffer, %d dropped, %s\n", r.o.Name, r.Dropped(), desc)
}

// pending returns the events rd has not read yet and the channel the next
// write closes.
func (r *Ring) pending(rd *ringReader) ([][]byte, uint64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rd.next < r.first { // cannot happen: unread events are kept
		rd.next = r.first
	}
	evs := append([][]byte(nil), r.events[rd.next-r.first:]...)
	return evs, rd.next, r.wake
}

func (r *Ring) advance(rd *ringReader, to uint64) {
	r.mu.Lock()
	rd.next = to
	r.mu.Unlock()
}

func (r *Ring) logf(format string, args ...any) {
	if r.o.Log != nil {
		r.o.Log(fmt.Sprintf(format, args...))
	}
}

// forward keeps a connection to s and writes it every event, from where
// the last connection stopped; a failed connection is retried after a
// second, as HAProxy's forward task does.
func (r *Ring) forward(s RingServer, rd *ringReader) {
	defer r.wg.Done()
	retry := s.reconnDelay
	if retry == 0 {
		retry = time.Second
	}
	for r.ctx.Err() == nil {
		if err := r.session(s, rd); err != nil && r.ctx.Err() == nil {
			r.logf("ring '%s': server '%s' (%s): %v", r.o.Name, s.Name, s.Addr, err)
		}
		select {
		case <-r.ctx.Done():
		case <-time.After(retry):
		}
	}
}

func (r *Ring) session(s RingServer, rd *ringReader) error {
	d := net.Dialer{Timeout: r.o.ConnectTimeout}
	c, err := d.DialContext(r.ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(r.ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	// The server's replies are read and discarded; its close ends the
	// session.
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(closed)
	}()
	var buf []byte
	for {
		evs, next, wake := r.pending(rd)
		if len(evs) > 0 {
			buf = buf[:0]
			for _, e := range evs {
				if s.OctetCount {
					buf = strconv.AppendInt(buf, int64(len(e)), 10)
					buf = append(buf, ' ')
					buf = append(buf, e...)
				} else {
					buf = append(append(buf, e...), '\n')
				}
			}
			if r.o.ServerTimeout > 0 {
				c.SetWriteDeadline(time.Now().Add(r.o.ServerTimeout))
			}
			if _, err := c.Write(buf); err != nil {
				return err
			}
			r.advance(rd, next+uint64(len(evs)))
			continue
		}
		select {
		case <-wake:
		case <-closed:
			return fmt.Errorf("connection closed by the server")
		case <-r.ctx.Done():
			return nil
		}
	}
}
