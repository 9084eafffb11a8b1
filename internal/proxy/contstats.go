package proxy

import "sync/atomic"

// "option contstats": HAProxy updates a stream's byte counters as data
// moves instead of when it ends, so graphs of long transfers (large files,
// streaming, WebSocket tunnels) follow the traffic. Here the client
// writer of a response to an HTTP/1 client (from an HTTP/1 or HTTP/2
// server), and both sides of a tunnel, count what
// they send once a server is assigned; finish counts only the rest.
// Responses to HTTP/2 clients are still counted when they end.

// followBytes makes the client writer count the response as it goes out;
// the function it returns stops that.
func (t *Txn) followBytes() func() {
	if !t.startFollowing() {
		return func() {}
	}
	return t.stopFollowing
}

// startFollowing is followBytes for a caller that calls stopFollowing
// itself when it returns true.
func (t *Txn) startFollowing() bool {
	if !t.sess.fe.ContStats || t.down != nil || t.srv == nil {
		return false
	}
	t.sess.out.pub = t.publishOut
	return true
}

func (t *Txn) stopFollowing() { t.sess.out.pub = nil }

// publishOut counts n response bytes on the frontend, backend and server.
func (t *Txn) publishOut(n int64) {
	atomic.AddInt64(&t.contOut, n)
	u := uint64(n)
	t.sess.fe.Counters.BytesOut.Add(u)
	if lc := t.sess.lst.Counters; lc != nil {
		lc.BytesOut.Add(u)
	}
	t.be.Counters.BytesOut.Add(u)
	t.srv.Counters.BytesOut.Add(u)
}

// publishIn counts n request bytes (a tunnel's client-to-server side).
func (t *Txn) publishIn(n int64) {
	atomic.AddInt64(&t.contIn, n)
	u := uint64(n)
	t.sess.fe.Counters.BytesIn.Add(u)
	if lc := t.sess.lst.Counters; lc != nil {
		lc.BytesIn.Add(u)
	}
	t.be.Counters.BytesIn.Add(u)
	t.srv.Counters.BytesIn.Add(u)
}
