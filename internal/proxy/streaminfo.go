package proxy

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
)

// The transaction as acl.Stream: what the cur_*_timeout, so_*,
// fc_rcvd_proxy, fc_pp_* and fc_rtt fetches read.

// CurTimeouts are the server and tunnel timeouts a set-timeout rule
// gave the stream, 0 without one: what HAProxy 2.6 answers, whatever its
// documentation says of the backend's.
func (t *Txn) CurTimeouts() (server, tunnel time.Duration, ok bool) {
	if t.be == nil {
		return 0, 0, false
	}
	return t.serverTO, t.tunnelTO, true
}

// Socket is the listener's id and bind name.
func (t *Txn) Socket() (int, string) {
	l := t.sess.lst
	if l == nil {
		return 0, ""
	}
	name := ""
	if l.Bind != nil {
		name = l.Bind.Name
	}
	return l.ID, name
}

// receivedProxy is the PROXY header the client connection began with.
func (t *Txn) receivedProxy() *proxyproto.Header {
	if pc, ok := t.sess.raw.(*proxyproto.Conn); ok {
		return pc.Header()
	}
	return nil
}

// ProxyHeader reports whether the client sent a PROXY header.
func (t *Txn) ProxyHeader() bool { return t.receivedProxy() != nil }

// ProxyTLV is a TLV of the client's PROXY v2 header.
func (t *Txn) ProxyTLV(typ byte) (string, bool) {
	h := t.receivedProxy()
	if h == nil {
		return "", false
	}
	v, ok := h.TLV(typ)
	return string(v), ok
}

// ClientTCPInfo is the kernel's TCP_INFO of the client connection.
func (t *Txn) ClientTCPInfo() (acl.TCPInfo, bool) {
	c := t.sess.raw
	if pc, ok := c.(*proxyproto.Conn); ok {
		c = pc.Conn
	}
	return tcpInfo(c)
}
