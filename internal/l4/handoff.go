package l4

import (
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
)

func netip_withPort(a netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), port)
}

// SNIExpr compiles req.ssl_sni for Frontend.SNI.
func SNIExpr() (*acl.Expr, error) {
	return acl.CompileExpr("req.ssl_sni", config.Pos{})
}

// handoffConn is the client connection as an in-process frontend sees it:
// what was peeked (and the PROXY header the server line asks for) comes
// first, then the socket; bytes are counted for this session's log.
type handoffConn struct {
	*proxyproto.Conn
	in, out atomic.Int64
}

func (c *handoffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *handoffConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// handoff passes the connection to an in-process frontend, as if the
// server were that frontend's bind: the peeked bytes are replayed, and a
// send-proxy server line prepends the PROXY header the frontend's
// accept-proxy bind reads. Addresses are the client's either way.
func (s *session) handoff(h Handler) {
	pre := s.appendProxyHeader(nil)
	pre = append(pre, s.payload...)
	hdr := &proxyproto.Header{Src: s.src, Dst: s.dst}
	hc := &handoffConn{Conn: proxyproto.NewConn(s.cli, hdr, pre)}
	h.ServeConn(net.Conn(hc))
	s.bytesIn = max(hc.in.Load()-int64(len(pre))+int64(len(s.payload)), 0)
	s.bytesOut = hc.out.Load()
}
