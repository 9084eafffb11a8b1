package proxy

import (
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/upstream"
)

// srvHold registers a transaction with the server it uses, so that
// "on-marked-down shutdown-sessions" (or a server's "on-marked-up
// shutdown-backup-sessions" for a backup) can cut it: its connection to
// the server is closed, and the client gets what HAProxy 2.6 sends then,
// a 502 before the response head, a cut response after it. An exchange
// with an HTTP/2 server ("proto h2") is not cut: its connection carries
// other streams.
type srvHold struct {
	release func()
	up      atomic.Pointer[upstream.Conn]
}

// holdServer registers t with us, replacing an earlier server's hold (a
// retry elsewhere). Only servers whose streams can be cut pay for it.
func (t *Txn) holdServer(us *upstream.Server) {
	t.releaseHold()
	if us.Cfg == nil || us.Cfg.OnMarkedDown == "" && !us.Backup {
		return
	}
	h := &srvHold{}
	h.release = us.HoldSession(func() {
		if c := h.up.Load(); c != nil {
			_ = c.Close()
		}
	})
	t.hold = h
}

// holdConn records the server connection the held stream uses.
func (t *Txn) holdConn(c *upstream.Conn) {
	if t.hold != nil {
		t.hold.up.Store(c)
	}
}

// releaseHold ends the registration.
func (t *Txn) releaseHold() {
	if t.hold != nil {
		t.hold.release()
		t.hold = nil
	}
}
