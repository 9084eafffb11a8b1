package proxy

import (
	"net"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/h2"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// H2Upstream is a server's pool of HTTP/2 connections. Unlike HTTP/1
// connections, which carry one request at a time and idle in
// upstream.Pool between them, an HTTP/2 connection is shared: requests
// reserve a stream on any connection of their key (SNI, ALPN, client
// certificate, client for send-proxy) that has room, so many client
// requests ride on few connections. h2.ClientConn speaks the protocol;
// which connection carries what is decided here.
type H2Upstream struct {
	// Prior is "proto h2": HTTP/2 with prior knowledge, without ALPN
	// (cleartext h2c to a gateway's plain port).
	Prior bool
	// MaxConns is "pool-max-conn": connections kept per server (< 0
	// unlimited); a connection beyond it carries its request and closes.
	MaxConns int
	// MaxReuse is "max-reuse": streams a connection carries before it is
	// retired (< 0 unlimited).
	MaxReuse int

	cfg   h2.ClientConfig
	mu    sync.Mutex
	conns map[upstream.PoolKey][]*h2Conn
	count int
}

type h2Conn struct {
	cc   *h2.ClientConn
	raw  *upstream.Conn
	uses int
}

// NewH2Upstream returns an empty pool. maxHeaderList bounds response
// header lists (0: the client's default, 64 KiB).
func NewH2Upstream(prior bool, maxConns, maxReuse int, maxHeaderList uint32) *H2Upstream {
	return &H2Upstream{
		Prior:    prior,
		MaxConns: maxConns,
		MaxReuse: maxReuse,
		cfg: h2.ClientConfig{
			MaxHeaderListSize: maxHeaderList,
			IdleTimeout:       upstream.DefaultIdleTimeout,
		},
		conns: map[upstream.PoolKey][]*h2Conn{},
	}
}

// SetIdleTimeout closes a pooled connection left without a stream for d
// ("pool-purge-delay"; DefaultIdleTimeout otherwise). Before any use.
func (p *H2Upstream) SetIdleTimeout(d time.Duration) { p.cfg.IdleTimeout = d }

// take reserves a stream on a pooled connection of key, or returns nil.
// A full connection (the server's SETTINGS_MAX_CONCURRENT_STREAMS reached)
// refuses the reservation, so the request goes to another connection or a
// new one rather than wait for a slot. Connections that closed or stopped
// taking streams are dropped on the way.
func (p *H2Upstream) take(key upstream.PoolKey) *h2Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.conns[key]
	var got *h2Conn
	j := 0
	for _, c := range list {
		var ok, dead bool
		if got == nil {
			ok, dead = c.cc.Reserve()
		} else {
			dead = c.cc.Dead()
		}
		if dead {
			c.cc.Close()
			p.count--
			continue
		}
		list[j] = c
		j++
		if ok {
			got = c
		}
	}
	clear(list[j:])
	p.conns[key] = list[:j]
	if got != nil {
		p.used(got)
	}
	return got
}

// used counts a stream against max-reuse.
func (p *H2Upstream) used(c *h2Conn) {
	c.uses++
	if p.MaxReuse >= 0 && c.uses >= p.MaxReuse {
		c.cc.SetDoNotReuse()
	}
}

// adopt turns a dialed connection into a pooled HTTP/2 one with a stream
// reserved for the caller; a private one ("http-reuse never") is not
// pooled: it carries this request and closes.
func (p *H2Upstream) adopt(key upstream.PoolKey, raw *upstream.Conn, private bool) (*h2Conn, error) {
	// Written and closed through raw, so that its Close gives back what
	// the connection holds (maxsslconn).
	cc, err := h2.NewClientConn(raw.Conn, newBatchConn(raw), &p.cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if !cc.TryReserve() { // a new connection has room: closed already
		cc.Close()
		return nil, net.ErrClosed
	}
	c := &h2Conn{cc: cc, raw: raw}
	p.mu.Lock()
	defer p.mu.Unlock()
	if private || p.MaxConns >= 0 && p.count >= p.MaxConns {
		cc.SetDoNotReuse()
		c.uses = 1
		return c, nil
	}
	p.conns[key] = append(p.conns[key], c)
	p.count++
	p.used(c)
	return c, nil
}

// CloseIdle closes connections without streams in flight (reload, stop);
// busy ones stop taking streams and close when their last one ends.
func (p *H2Upstream) CloseIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, list := range p.conns {
		for _, c := range list {
			c.cc.SetDoNotReuse()
		}
		delete(p.conns, key)
	}
	p.count = 0
}
