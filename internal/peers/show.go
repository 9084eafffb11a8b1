package peers

import (
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"time"
)

// Flags of the section line, HAProxy's PEERS_F_RESYNC_LOCAL and
// PEERS_F_RESYNC_REMOTE: both set once the process holds what its peers
// know; ASSIGN while a peer is teaching it.
const (
	flagResyncLocal  = 0x1
	flagResyncRemote = 0x2
	flagResyncAssign = 0x4
)

var statusNames = map[int]string{100: "CONN", 110: "HSHK", 200: "ESTA", 300: "RETR", 501: "PROT", 502: "VERS", 503: "NAME", 504: "UNKN"}

// Show writes the section as HAProxy's "show peers": a line for the
// section, then each peer (the last declared first, as HAProxy lists
// them) with its address, its last handshake status, its counters and
// the tables it shares. Pointers identify objects as HAProxy's do;
// HAProxy's internal task and applet states have no equivalent here.
func (s *Section) Show(w io.Writer) {
	now := time.Now()
	s.mu.Lock()
	synced := s.isSyncedLocked()
	flags := 0
	if synced {
		flags = flagResyncLocal | flagResyncRemote
	} else {
		flags = flagResyncLocal
		if s.learner != nil {
			flags |= flagResyncAssign
		}
	}
	resync := "<PAST>"
	if !synced && s.resyncBy.After(now) {
		resync = humanTime(s.resyncBy.Sub(now))
	}
	changed := s.lastChange
	s.mu.Unlock()
	fmt.Fprintf(w, "%p: [%s] id=%s disabled=0 flags=0x%x resync_timeout=%s task_calls=0\n",
		s, changed.Format("02/Jan/2006:15:04:05"), s.cfg.Name, flags, resync)
	for i := len(s.peers) - 1; i >= 0; i-- {
		s.peers[i].show(w, now)
	}
}

func (p *peer) show(w io.Writer, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind, act := "remote", "inactive"
	if p.local {
		kind = "local"
	}
	if p.sess != nil {
		act = "active"
	}
	addr := p.addr
	if p.local {
		addr = p.s.cfg.Bind
	}
	st := statusNames[p.status]
	if st == "" {
		st = "NONE"
	}
	hdshk := "<NEVER>"
	if !p.lastHdshk.IsZero() {
		hdshk = humanTime(now.Sub(p.lastHdshk))
	}
	fmt.Fprintf(w, "  %p: id=%s(%s,%s) addr=%s last_status=%s last_hdshk=%s\n", p, p.name, kind, act, addr, st, hdshk)
	// reconnect: for a session, when it is declared dead if nothing
	// comes; else when the next connection is tried. heartbeat: when one
	// is sent if nothing else is.
	reconnect, heartbeat := "<NEVER>", "<NEVER>"
	remain := func(t time.Time) string {
		if t.After(now) {
			return humanTime(t.Sub(now))
		}
		return "<PAST>"
	}
	if ss := p.sess; ss != nil {
		reconnect = remain(time.Unix(0, ss.lastRead.Load()).Add(deadAfter))
		heartbeat = remain(time.Unix(0, ss.lastWrite.Load()).Add(heartbeatEvery))
	} else if !p.reconnectAt.IsZero() {
		reconnect = remain(p.reconnectAt)
	}
	confirm := 0
	if p.sess != nil {
		p.sess.mu.Lock()
		confirm = p.sess.confirm
		p.sess.mu.Unlock()
	}
	fmt.Fprintf(w, "        reconnect=%s heartbeat=%s confirm=%d tx_hbt=%d rx_hbt=%d no_hbt=%d new_conn=%d proto_err=%d coll=%d\n",
		reconnect, heartbeat, confirm, p.txHbt, p.rxHbt, p.noHbt, p.newConn, p.protoErr, p.coll)
	fmt.Fprintf(w, "        flags=0x0")
	if ss := p.sess; ss != nil {
		xprt := "RAW"
		if _, ok := ss.c.(*tls.Conn); ok {
			xprt = "SSL"
		}
		fmt.Fprintf(w, "\n        xprt=%s src=%s addr=%s", xprt, ss.c.RemoteAddr(), ss.c.LocalAddr())
	}
	if len(p.s.tables) > 0 {
		fmt.Fprintf(w, "\n        shared tables:")
		for i, sh := range p.s.tables {
			var remoteID uint64
			var lastGet, lastAcked, pushed uint32
			var remoteData uint64
			if ss := p.sess; ss != nil {
				ss.mu.Lock()
				remoteID = ss.remoteID[i]
				for _, rt := range ss.remote {
					if rt.local == sh {
						remoteData = rt.def.data
					}
				}
				lastGet, lastAcked, pushed = ss.lastGet[i], ss.ackedGet[i], ss.nextID[i]
				ss.mu.Unlock()
			}
			fmt.Fprintf(w, "\n          %p local_id=%d remote_id=%d flags=0x0 remote_data=0x%x", sh, sh.id, remoteID, remoteData)
			fmt.Fprintf(w, "\n              last_acked=%d last_pushed=%d last_get=%d teaching_origin=0 update=0", lastAcked, pushed, lastGet)
			fmt.Fprintf(w, "\n              table:%p id=%s update=0 localupdate=0 commitupdate=0 refcnt=1", sh.t, sh.t.Name())
		}
	}
	fmt.Fprintf(w, "\n")
}

// humanTime is HAProxy's human_time: the two most significant units.
func humanTime(d time.Duration) string {
	t := int64(d / time.Second)
	if t <= 0 {
		return "0s"
	}
	var b strings.Builder
	parts := 0
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if t >= u.n || parts > 0 {
			if parts == 2 {
				break
			}
			fmt.Fprintf(&b, "%d%s", t/u.n, u.unit)
			t %= u.n
			parts++
		}
	}
	return b.String()
}
