package l4

import (
	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// StickPersist is a mode tcp backend's persistence by stick table, as in
// mode http (proxy.StickPersist): the request rules run once use-server
// had its say, the stores once the server connection is established
// (HAProxy stores "once the server connection has been established").
type StickPersist struct {
	Request  []StickRule // match, on, store-request
	Response []StickRule // store-response
	// ByKey and ByID find the backend's server a table entry names.
	ByKey func(t *stick.Table, skey string) *upstream.Server
	ByID  func(id int) *upstream.Server
	// SrvKey is what a table's server_key holds for a server.
	SrvKey func(t *stick.Table, srv *upstream.Server) string
}

// StickRule is one compiled stick rule.
type StickRule struct {
	Match, Store bool
	Table        *stick.Table
	Key          *acl.Expr
	Cond         *acl.Cond
}

// stickStores are a session's pending stores (HAProxy's limit: 8).
type stickStores struct {
	s [8]struct {
		t   *stick.Table
		key string
	}
	n int
}

func (p *stickStores) pending(t *stick.Table, from int) bool {
	for i := from; i < p.n; i++ {
		if p.s[i].t == t {
			return true
		}
	}
	return false
}

func (p *stickStores) add(t *stick.Table, key string) {
	if p.n < len(p.s) {
		p.s[p.n].t, p.s[p.n].key = t, key
		p.n++
	}
}

// stickMatch runs the request stick rules (HAProxy's
// process_sticking_rules): the first store rule of a table keeps its key;
// a match assigns the stored server unless use-server did, when it is up
// or persistence may force it.
func (s *session) stickMatch() {
	sp := s.be.Stick
	if sp == nil {
		return
	}
	for i := range sp.Request {
		r := &sp.Request[i]
		if r.Store && s.stores.pending(r.Table, 0) {
			continue
		}
		if !r.Cond.Match(&s.txn) {
			continue
		}
		key, ok := r.Key.StickKey(&s.txn, r.Table)
		if !ok {
			continue
		}
		if r.Match {
			if id, skey, found := r.Table.Server(key); found && s.target == nil {
				srv := sp.ByKey(r.Table, skey)
				if srv == nil {
					srv = sp.ByID(id)
				}
				always := s.be.Persist != nil && s.be.Persist.Always
				if srv != nil && (srv.Reachable() || always || s.force) {
					s.target = srv
				}
			}
		}
		if r.Store {
			s.stores.add(r.Table, key)
		}
	}
}

// stickStore runs the store-response rules and records the connected
// server under every pending key, unless it is "non-stick".
func (s *session) stickStore(srv *upstream.Server) {
	sp := s.be.Stick
	if sp == nil {
		return
	}
	p := &s.stores
	nreq := p.n
	for i := range sp.Response {
		r := &sp.Response[i]
		if p.pending(r.Table, nreq) || !r.Cond.Match(&s.txn) {
			continue
		}
		if key, ok := r.Key.StickKey(&s.txn, r.Table); ok {
			p.add(r.Table, key)
		}
	}
	if srv.Cfg == nil || !srv.Cfg.NonStick {
		for i := 0; i < p.n; i++ {
			st := &p.s[i]
			st.t.StoreServer(st.key, srv.ID, sp.SrvKey(st.t, srv))
		}
	}
	p.n = 0
}
