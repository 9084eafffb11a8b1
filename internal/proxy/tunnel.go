package proxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tunnel relays the connection in both directions after the server
// switched protocols: a 101 to an Upgrade (WebSocket), or a 2xx to a
// CONNECT, as HAProxy does. timeout tunnel is the idle bound. Neither
// connection carries another request afterwards: the server's is closed,
// never pooled, since it now belongs to this client alone.
func (t *Txn) tunnel(srv *Server, uc *upConn) bool {
	be, fe := t.be, t.sess.fe
	resp := &t.Resp
	t.status = resp.Status
	be.Counters.CountStatus(resp.Status)
	srv.Counters.CountStatus(resp.Status)
	before := t.sess.out.n
	_ = t.sess.bw.WriteResponseHead(resp)
	err := t.sess.bw.Flush()
	t.bytesOut += t.sess.out.n - before
	if err != nil {
		uc.close()
		t.termState = [2]byte{'C', 'D'}
		return false
	}
	t.logASAP(0)
	idle := t.tunnelTimeout()
	if idle == 0 {
		idle = max(fe.Timeouts.Client, t.serverTimeout())
	}
	client := newIdleConn(t.sess.conn, idle, fe.Timeouts.ClientFin)
	server := newIdleConn(uc.c, idle, be.Timeouts.ServerFin)
	if fe.ContStats {
		client.pub, server.pub = t.publishOut, t.publishIn
	}
	_ = t.sess.conn.SetDeadline(time.Time{})
	_ = uc.c.SetDeadline(time.Time{})

	var wg sync.WaitGroup
	var up int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Bytes the client sent after its request head belong to the tunnel.
		up = copyHalf(server, client, t.sess.br.Drain())
	}()
	down := copyHalf(client, server, uc.br.Drain())
	wg.Wait()
	t.clk.spend() // the tunnel's copies bypass the timed reader and writer
	t.bytesIn += up
	t.bytesOut += down
	uc.close()
	t.closeAfter = true
	return false
}

// copyHalf copies src to dst after writing pending, then half-closes dst
// so the peer sees the end of this direction.
func copyHalf(dst, src *idleConn, pending []byte) int64 {
	var n int64
	if len(pending) > 0 {
		m, err := dst.Write(pending)
		n += int64(m)
		if err != nil {
			src.Close()
			return n
		}
	}
	m, err := io.Copy(dst, src)
	n += m
	if cw, ok := dst.Conn.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
		dst.halfClosed()
	} else {
		dst.Close()
		src.Close()
	}
	return n
}

// idleConn extends its deadline on every read and write, so a tunnel stays
// open while traffic flows and closes after idle of silence. Once the
// tunnel has shut it for writing, fin (timeout client-fin or server-fin,
// when set) replaces idle, as HAProxy bounds a half-closed side.
type idleConn struct {
	net.Conn
	idle atomic.Int64 // time.Duration; read by one copy, changed by the other
	fin  time.Duration
	pub  func(int64) // "option contstats": counts bytes written; nil: off
}

func newIdleConn(c net.Conn, idle, fin time.Duration) *idleConn {
	ic := &idleConn{Conn: c, fin: fin}
	ic.idle.Store(int64(idle))
	return ic
}

// halfClosed is called once c was shut for writing: the read pending on
// it (the other direction's copy) now waits fin at most.
func (c *idleConn) halfClosed() {
	if c.fin <= 0 {
		return
	}
	c.idle.Store(int64(c.fin))
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.fin))
}

func (c *idleConn) Read(p []byte) (int, error) {
	if d := time.Duration(c.idle.Load()); d > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if d := time.Duration(c.idle.Load()); d > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Write(p)
	if c.pub != nil && n > 0 {
		c.pub(int64(n))
	}
	return n, err
}
