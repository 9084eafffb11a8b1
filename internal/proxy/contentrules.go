package proxy

import (
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/sock"
)

// ContentRule is a "tcp-request content accept|reject" rule of an HTTP
// proxy. HAProxy 2.6 evaluates them on each request of a connection once
// the request is parsed: the first matching rule decides, none accepts.
type ContentRule struct {
	Reject bool
	Drop   bool      // silent-drop: a reject the client is not told of
	Cond   *acl.Cond // nil: unconditional
	// Var: a set-var, set-var-fmt (VarFormat) or unset-var rule, which
	// acts and goes on to the next rule.
	Var       *acl.VarAction
	VarFormat *logging.Format
	// Track, SC: stick actions (connstick.go), which act and go on too.
	Track *TrackRule
	SC    *SCRule
}

// contentRejected runs rules in order; true when a reject matched first.
func (t *Txn) contentRejected(rules []ContentRule) bool {
	for i := range rules {
		r := &rules[i]
		if r.Cond == nil || r.Cond.Match(&t.acl) {
			if r.Var != nil {
				t.runContentVar(r)
				continue
			}
			if r.runStick(&t.stick, &t.acl) {
				continue
			}
			if r.Drop {
				t.kill = killSilent
			}
			return r.Reject || r.Drop
		}
	}
	return false
}

func (t *Txn) runContentVar(r *ContentRule) {
	if r.VarFormat != nil {
		r.Var.SetString(&t.acl, t.evalFormat(r.VarFormat))
	} else {
		r.Var.Run(&t.acl)
	}
}

// rejectConnection ends the request as a tcp-request content reject does
// in HAProxy 2.6's HTTP proxies: no answer, the connection closed (an
// HTTP/2 stream reset), logged PR with status -1. Rejected by the
// frontend, before its HTTP analysis, the line shows no request
// ("<BADREQ>") and no request time, as HAProxy's.
func (t *Txn) rejectConnection(frontend bool) bool {
	t.termState = [2]byte{'P', 'R'}
	t.status = -1
	if frontend {
		t.Req.Method = ""
		t.tHead = time.Time{}
	}
	if t.kill == killSilent {
		// silent-drop: the whole connection goes, unannounced.
		t.closeAfter = true
		sock.SilentDrop(t.sess.raw)
		return false
	}
	if t.down != nil {
		t.down.Reset(http2.ErrCodeCancel)
	}
	return false
}
