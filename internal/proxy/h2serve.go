package proxy

import (
	"sync"

	"github.com/gatehouse/gatehouse/internal/h2"
)

// serveH2 serves the session's connection as HTTP/2: negotiated by ALPN
// on a TLS bind, or spoken from the first byte on a bind with "proto h2".
// Every stream is a transaction of its own on its own goroutine; the
// session only carries what they share (frontend, addresses, TLS).
func (s *session) serveH2() {
	fe := s.fe
	c := h2.NewConn(s.conn, fe.H2, func(st *h2.Stream) { s.serveStream(st) })
	if !fe.Proc.h2conns.add(c) {
		// A reload retired this runtime while the handshake ran.
		c.Shutdown()
	}
	defer fe.Proc.h2conns.remove(c)
	_ = c.Serve()
}

// h2Registry tracks a runtime's HTTP/2 connections, so a reload or a stop
// sends each a GOAWAY: streams in flight finish, new ones go to the new
// runtime on a new connection.
type h2Registry struct {
	mu      sync.Mutex
	retired bool
	conns   map[*h2.Conn]struct{}
}

func (r *h2Registry) add(c *h2.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.retired {
		return false
	}
	if r.conns == nil {
		r.conns = map[*h2.Conn]struct{}{}
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *h2Registry) remove(c *h2.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// shutdown sends GOAWAY on every connection, now and to any added later.
func (r *h2Registry) shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retired = true
	for c := range r.conns {
		c.Shutdown()
	}
}
