// Package logforward runs HAProxy's "log-forward" sections: a syslog relay
// that receives messages over UDP ("dgram-bind") and TCP ("bind", with
// RFC 6587's octet-counting and non-transparent framing, as HAProxy 2.6's
// syslog_io_handler reads them) and sends each one to the section's log
// targets, framed again by logging.Logger.Forward.
package logforward

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
)

// BufSize is the largest message taken (HAProxy's buffer size): a longer
// datagram is cut, a longer stream message closes the connection.
const BufSize = 16384

// Options describe one section.
type Options struct {
	Name    string
	Streams []net.Listener   // "bind"
	Dgrams  []net.PacketConn // "dgram-bind"
	// MaxConn bounds the TCP connections served at once (default 10);
	// more wait to be accepted.
	MaxConn int
	// TimeoutClient closes a TCP connection idle this long; 0: never.
	TimeoutClient time.Duration
	Out           *logging.Logger
}

// Forwarder is a running section.
type Forwarder struct {
	o     Options
	slots chan struct{}
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// New prepares the section; Start serves it.
func New(o Options) *Forwarder {
	if o.MaxConn <= 0 {
		o.MaxConn = 10
	}
	return &Forwarder{o: o, slots: make(chan struct{}, o.MaxConn), conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
}

// Start serves every listener.
func (f *Forwarder) Start() {
	for _, ln := range f.o.Streams {
		f.wg.Add(1)
		go f.acceptLoop(ln)
	}
	for _, pc := range f.o.Dgrams {
		f.wg.Add(1)
		go f.readDgrams(pc)
	}
}

// Stop closes the listeners and the connections and waits for them.
func (f *Forwarder) Stop() {
	f.once.Do(func() {
		close(f.done)
		for _, ln := range f.o.Streams {
			ln.Close()
		}
		for _, pc := range f.o.Dgrams {
			pc.Close()
		}
		f.mu.Lock()
		for c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	f.wg.Wait()
}

func (f *Forwarder) forward(msg []byte) {
	m := logging.ParseSyslog(msg)
	f.o.Out.Forward(&m)
}

func (f *Forwarder) readDgrams(pc net.PacketConn) {
	defer f.wg.Done()
	buf := make([]byte, BufSize)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		f.forward(buf[:n])
	}
}

func (f *Forwarder) acceptLoop(ln net.Listener) {
	defer f.wg.Done()
	for {
		select { // maxconn: the next connection waits in the backlog
		case f.slots <- struct{}{}:
		case <-f.done:
			return
		}
		c, err := ln.Accept()
		if err != nil {
			<-f.slots
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		f.mu.Lock()
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serveStream(c)
	}
}

// serveStream reads messages until the client closes, idles past the
// timeout, or breaks the framing (the connection is then closed, as
// HAProxy does).
func (f *Forwarder) serveStream(c net.Conn) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		c.Close()
		<-f.slots
	}()
	r := bufio.NewReaderSize(&idleReader{c: c, timeout: f.o.TimeoutClient}, BufSize)
	buf := make([]byte, BufSize)
	for {
		first, err := r.Peek(1)
		if err != nil {
			return
		}
		switch {
		case first[0] == '<': // non-transparent framing: up to LF (CR LF)
			line, err := r.ReadSlice('\n')
			if err != nil { // no LF within the buffer, or the end
				return
			}
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			f.forward(line)
		case first[0] >= '1' && first[0] <= '9': // octet counting
			word, err := r.ReadSlice(' ')
			if err != nil || len(word) > 10 {
				return
			}
			n, err := strconv.Atoi(string(word[:len(word)-1]))
			if err != nil || n <= 0 || n > BufSize {
				return
			}
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				return
			}
			f.forward(buf[:n])
		default:
			return
		}
	}
}

// idleReader applies the client timeout to each read.
type idleReader struct {
	c       net.Conn
	timeout time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	if r.timeout > 0 {
		r.c.SetReadDeadline(time.Now().Add(r.timeout))
	}
	return r.c.Read(p)
}
