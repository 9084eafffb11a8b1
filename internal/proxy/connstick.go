package proxy

import (
	"net"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// Stick-table tracking of an HTTP connection: tcp-request connection rules
// (run before any PROXY header, by the listener's wrapper) and tcp-request
// session rules (once the handshakes are done) track entries for the whole
// connection; each request's transaction inherits them (stick.Inherit, as
// HAProxy's streams copy their session's counters) and counts itself on
// them; they end with the connection.

// TrackRule is a track-scN action of a tcp-request rule.
type TrackRule struct {
	Slot  int
	Table *stick.Table
	Key   *acl.Expr
	// CountReq: the track also counts an HTTP request (a frontend's
	// tcp-request content rule runs before HAProxy counts the request).
	CountReq bool
}

// SCRule is an sc-* action of a tcp-request rule (sc-inc-gpc0/1,
// sc-set-gpt0, sc-inc-gpc, sc-set-gpt, sc-add-gpc).
type SCRule struct {
	Op    stick.SCOp
	Slot  int
	Idx   int       // the array element of sc-inc-gpc, sc-set-gpt, sc-add-gpc
	Set   *acl.Expr // the value's expression; nil: Value
	Value int64
}

// runStick runs a rule's stick action on st; false when it has none.
func (r *ContentRule) runStick(st *stick.Stream, t *acl.Txn) bool {
	switch {
	case r.Track != nil:
		tr := r.Track
		if k, ok := tr.Key.StickKey(t, tr.Table); ok {
			st.Track(tr.Slot, tr.Table, k, tr.CountReq)
		}
	case r.SC != nil:
		sc := r.SC
		v := sc.Value
		if sc.Set != nil {
			var ok bool
			if v, ok = sc.Set.Int(t); !ok {
				break
			}
		}
		st.Apply(sc.Op, sc.Slot, sc.Idx, uint64(v))
	default:
		return false
	}
	return true
}

// RunConnRules runs an HTTP frontend's tcp-request connection rules on a
// connection's addresses: the first matching accept, reject or
// silent-drop decides, stick actions act on st and go on. reject: the
// connection is refused; drop: by a silent-drop.
func RunConnRules(rules []ContentRule, t *acl.Txn, st *stick.Stream) (reject, drop bool) {
	t.Stick = st
	for i := range rules {
		r := &rules[i]
		if r.Cond == nil || r.Cond.Match(t) {
			if r.runStick(st, t) {
				continue
			}
			return r.Reject || r.Drop, r.Drop
		}
	}
	return false, false
}

// trackedConn carries what the connection rules tracked to the session.
type trackedConn struct {
	net.Conn
	st *stick.Stream
}

// WithTracking hands st, the connection's tracking, to the listener that
// serves c (directly, or after a PROXY header reader wrapped c).
func WithTracking(c net.Conn, st *stick.Stream) net.Conn { return &trackedConn{c, st} }

// takeTracking unwraps c's tracking, if any, leaving c as it would be
// without it.
func takeTracking(c net.Conn) (net.Conn, *stick.Stream) {
	switch x := c.(type) {
	case *trackedConn:
		return x.Conn, x.st
	case *proxyproto.Conn:
		if tc, ok := x.Conn.(*trackedConn); ok {
			x.Conn = tc.Conn
			return x, tc.st
		}
	}
	return c, nil
}

// tracking reports whether the connection tracks any entry: then it is
// never parked (the parked record keeps no tracking).
func (s *session) tracking() bool {
	for n := 0; n < stick.Slots; n++ {
		if _, ok := s.stick.Tracking(n); ok {
			return true
		}
	}
	return false
}

// sessionRules runs the frontend's tcp-request session rules once the
// handshakes are done, with no stream yet (proc and sess variables only).
// reject: the session is refused; drop: by a silent-drop (the connection
// is closed then without telling the client).
func (s *session) sessionRules() (reject, drop bool) {
	fe := s.fe
	if len(fe.SessionRules) == 0 {
		return false, false
	}
	t := s.tx
	if t == nil { // an HTTP/3 session has none (only HTTP/1 keeps one)
		t = txnPool.Get().(*Txn)
		defer func() { t.reset(); t.sess = nil; txnPool.Put(t) }()
	}
	t.begin(s)
	t.acl.Stick = &s.stick
	t.vars.NoStream = true
	defer func() { t.vars.NoStream = false }()
	for i := range fe.SessionRules {
		r := &fe.SessionRules[i]
		if r.Cond == nil || r.Cond.Match(&t.acl) {
			if r.runStick(&s.stick, &t.acl) {
				continue
			}
			if r.Var != nil {
				t.runContentVar(r)
				continue
			}
			if r.Drop {
				sock.SilentDrop(s.raw)
			}
			return r.Reject || r.Drop, r.Drop
		}
	}
	return false, false
}

// stickBadRequest counts a request that failed before its head was whole
// (a malformed head, a client gone) on what the connection tracks: a
// request and an HTTP error (a timed-out one is a request only), as HAProxy's http_wait_for_request
// counts it; that is why it advises tracking at the session level.
func (t *Txn) stickBadRequest(status int) {
	t.stick.CountRequest()
	t.stick.Response(status)
}
