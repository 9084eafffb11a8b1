package proxy

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/upstream"
)

// liveStream publishes a transaction's progress for "show sess", which
// reads it from another goroutine: a few atomic stores per request, no
// lock and no allocation on the request path.
type liveStream struct {
	at  atomic.Int64 // when the request head arrived (unix ns); 0: no request in progress
	fe  atomic.Pointer[Frontend]
	be  atomic.Pointer[Backend]
	srv atomic.Pointer[upstream.Server]
}

func (l *liveStream) start(fe *Frontend, at time.Time) {
	l.be.Store(nil)
	l.srv.Store(nil)
	l.fe.Store(fe)
	l.at.Store(at.UnixNano())
}

func (l *liveStream) end() { l.at.Store(0) }

// A transaction without a live stream (an HTTP/2 stream, which shares
// its connection's session) publishes nothing.

func (l *liveStream) setBackend(be *Backend) {
	if l != nil {
		l.be.Store(be)
	}
}

func (l *liveStream) setServer(srv *upstream.Server) {
	if l != nil {
		l.srv.Store(srv)
	}
}

var livePool = sync.Pool{New: func() any { return new(liveStream) }}

// openStream publishes an HTTP/2 stream of s starting at at.
func (s *session) openStream(at time.Time) *liveStream {
	l := livePool.Get().(*liveStream)
	l.start(s.fe, at)
	s.h2mu.Lock()
	if s.h2live == nil {
		s.h2live = map[*liveStream]struct{}{}
	}
	s.h2live[l] = struct{}{}
	s.h2mu.Unlock()
	return l
}

// closeStream withdraws a stream openStream published.
func (s *session) closeStream(l *liveStream) {
	s.h2mu.Lock()
	delete(s.h2live, l)
	s.h2mu.Unlock()
	l.end()
	livePool.Put(l)
}

// StreamInfo is one request in progress, as "show sess" lists it.
type StreamInfo struct {
	ID       uintptr // stable while the stream lives
	Src      netip.AddrPort
	Frontend string
	Backend  string // "": none chosen yet
	Server   string // "": none chosen yet
	Started  time.Time
}

// Streams lists the requests in progress, HTTP/1 and HTTP/2 (HAProxy has
// a stream only while a request is being served, not on an idle
// connection). Mode tcp sessions are not listed.
func (p *Process) Streams() []StreamInfo {
	var out []StreamInfo
	p.idleMu.Lock()
	for s := range p.sessions {
		out = s.live.appendTo(out, s.src)
	}
	p.idleMu.Unlock()
	p.h2conns.mu.Lock()
	for hc := range p.h2conns.conns {
		s := hc.cur.Load().s
		s.h2mu.Lock()
		for l := range s.h2live {
			out = l.appendTo(out, s.src)
		}
		s.h2mu.Unlock()
	}
	p.h2conns.mu.Unlock()
	return out
}

// appendTo adds l to out if a request is in progress on it.
func (l *liveStream) appendTo(out []StreamInfo, src netip.AddrPort) []StreamInfo {
	at := l.at.Load()
	fe := l.fe.Load()
	if at == 0 || fe == nil {
		return out
	}
	si := StreamInfo{ID: uintptr(unsafe.Pointer(l)), Src: src, Frontend: fe.Name, Started: time.Unix(0, at)}
	if be := l.be.Load(); be != nil {
		si.Backend = be.Name
	}
	if srv := l.srv.Load(); srv != nil {
		si.Server = srv.Name
	}
	return append(out, si)
}
