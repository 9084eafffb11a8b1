package proxy

import (
	"sync"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/upstream"
)

// H2Upstream is a server's pool of HTTP/2 connections. Unlike HTTP/1
// connections, which carry one request at a time and idle in
// upstream.Pool between them, an HTTP/2 connection is shared: requests
// reserve a stream on any connection of their key (SNI, ALPN, client
// certificate, client for send-proxy) that has room, so many client
// requests ride on few connections. x/net's ClientConn speaks the
// protocol; which connection carries what is decided here.
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

	tr    *http2.Transport
	mu    sync.Mutex
	conns map[upstream.PoolKey][]*h2Conn
	count int
}

type h2Conn struct {
	cc   *http2.ClientConn
	raw  *upstream.Conn
	uses int
}

// NewH2Upstream returns an empty pool. maxHeaderList bounds response
// header lists (0: x/net's default).
func NewH2Upstream(prior bool, maxConns, maxReuse int, maxHeaderList uint32) *H2Upstream {
	return &H2Upstream{
		Prior:    prior,
		MaxConns: maxConns,
		MaxReuse: maxReuse,
		tr: &http2.Transport{
			// A proxy passes encodings through; it never asks for gzip
			// on the client's behalf nor decodes the answer.
			DisableCompression: true,
			AllowHTTP:          true,
			// Not strict: a reservation (take) is refused when the
			// server's SETTINGS_MAX_CONCURRENT_STREAMS is reached, so the
			// request goes to another connection or a new one. Strict,
			// x/net grants every reservation and makes the request wait
			// for a slot while holding the connection's header lock, and
			// the waiting reservations themselves keep the slots counted
			// full: 320 streams against nginx's 128 stalled for seconds.
			IdleConnTimeout:   upstream.DefaultIdleTimeout,
			MaxHeaderListSize: maxHeaderList,
			// Request fields are views of the transaction's arena, which
			// the next request writes over: an encoder that kept them in
			// its dynamic table matched later values against changed
			// bytes and sent the gateway an earlier request's field. A
			// table of 1 byte indexes nothing (0 means x/net's 4096).
			MaxEncoderHeaderTableSize: 1,
		},
		conns: map[upstream.PoolKey][]*h2Conn{},
	}
}

// take reserves a stream on a pooled connection of key, or returns nil.
// Connections that closed or stopped taking streams are dropped on the way.
func (p *H2Upstream) take(key upstream.PoolKey) *h2Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.conns[key]
	var got *h2Conn
	j := 0
	for _, c := range list {
		if st := c.cc.State(); st.Closed || (st.Closing && st.StreamsActive == 0) {
			c.cc.Close()
			p.count--
			continue
		}
		list[j] = c
		j++
		if got == nil && c.cc.ReserveNewRequest() {
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
	cc, err := p.tr.NewClientConn(newBatchConn(raw.Conn))
	if err != nil {
		raw.Close()
		return nil, err
	}
	c := &h2Conn{cc: cc, raw: raw}
	// The first stream needs no reservation: a new connection has room.
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
			if c.cc.State().StreamsActive == 0 {
				c.cc.Close()
			}
		}
		delete(p.conns, key)
	}
	p.count = 0
}
