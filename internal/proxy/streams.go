package proxy

import (
	"net/netip"
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

// StreamInfo is one request in progress, as "show sess" lists it.
type StreamInfo struct {
	ID       uintptr // stable while the stream lives
	Src      netip.AddrPort
	Frontend string
	Backend  string // "": none chosen yet
	Server   string // "": none chosen yet
	Started  time.Time
}

// Streams lists the HTTP/1 requests in progress (HAProxy has a stream
// only while a request is being served, not on an idle connection).
func (p *Process) Streams() []StreamInfo {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	var out []StreamInfo
	for s := range p.sessions {
		l := &s.live
		at := l.at.Load()
		fe := l.fe.Load()
		if at == 0 || fe == nil {
			continue
		}
		si := StreamInfo{ID: uintptr(unsafe.Pointer(s)), Src: s.src, Frontend: fe.Name, Started: time.Unix(0, at)}
		if be := l.be.Load(); be != nil {
			si.Backend = be.Name
		}
		if srv := l.srv.Load(); srv != nil {
			si.Server = srv.Name
		}
		out = append(out, si)
	}
	return out
}
