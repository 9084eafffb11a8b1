package proxy

import (
	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// StickPersist is a backend's persistence by stick table: its "stick
// match|on|store-request" rules (Request, in order) and "stick
// store-response" rules (Response). The transaction runs the request
// rules once persistence cookies and use-server had their say, and the
// store rules on the server's response head, before the response rules
// (HAProxy's process_sticking_rules and process_store_rules).
type StickPersist struct {
	Request  []StickRule
	Response []StickRule
	// Servers finds a backend server by what a table stored (server.go of
	// stick: a server_key, else the server_id); nil when none matches.
	Servers StickServers
}

// StickRule is one compiled stick rule on Table.
type StickRule struct {
	Match, Store bool
	Table        *stick.Table
	Key          *acl.Expr
	Cond         *acl.Cond // nil: always
}

// StickServers resolves a table entry to a server of one backend.
type StickServers interface {
	ByKey(t *stick.Table, skey string) *Server
	ByID(id int) *Server
}

// maxStickStores is HAProxy's limit of stores per request (s->store[8]).
const maxStickStores = 8

// stickPersistTxn is a transaction's pending stores: the keys the
// store rules extracted, stored with the server once it answers.
type stickPersistTxn struct {
	stores [maxStickStores]stickStore
	n      int
}

type stickStore struct {
	t   *stick.Table
	key string
}

// pending reports whether a store for t is pending among stores[from:].
func (p *stickPersistTxn) pending(t *stick.Table, from int) bool {
	for i := from; i < p.n; i++ {
		if p.stores[i].t == t {
			return true
		}
	}
	return false
}

func (p *stickPersistTxn) add(t *stick.Table, key string) {
	if p.n < maxStickStores {
		p.stores[p.n] = stickStore{t, key}
		p.n++
	}
}

// stickMatch runs the request's stick rules: the first store rule of each
// table keeps its key (later ones for the same table are skipped, their
// conditions unevaluated); a match whose key has an entry assigns the
// server stored there unless something already did, if it is up or
// persistence may force it (option persist, force-persist).
func (t *Txn) stickMatch(be *Backend) {
	sp := be.StickRules
	if sp == nil {
		return
	}
	ps := &t.persist.st
	for i := range sp.Request {
		r := &sp.Request[i]
		if r.Store && t.stickp.pending(r.Table, 0) {
			continue
		}
		if r.Cond != nil && !r.Cond.Match(&t.acl) {
			continue
		}
		key, ok := r.Key.StickKey(&t.acl, r.Table)
		if !ok {
			continue
		}
		if r.Match {
			if id, skey, found := r.Table.Server(key); found && !ps.Assigned {
				srv := sp.Servers.ByKey(r.Table, skey)
				if srv == nil {
					srv = sp.Servers.ByID(id)
				}
				if srv != nil && (srv.Reachable() || (be.Persist != nil && be.Persist.Always) || ps.Force) {
					ps.Assigned, ps.Direct = true, true
					t.persist.target = srv
				}
			}
		}
		if r.Store {
			t.stickp.add(r.Table, key)
		}
	}
}

// stickStore runs the store-response rules on srv's response head, then
// records srv under every pending key (not for a "non-stick" server).
func (t *Txn) stickStore(srv *Server) {
	sp := t.be.StickRules
	if sp == nil {
		return
	}
	p := &t.stickp
	nreq := p.n
	for i := range sp.Response {
		r := &sp.Response[i]
		if p.pending(r.Table, nreq) {
			continue
		}
		if r.Cond != nil && !r.Cond.Match(&t.acl) {
			continue
		}
		if key, ok := r.Key.StickKey(&t.acl, r.Table); ok {
			p.add(r.Table, key)
		}
	}
	if !srv.Cfg.NonStick {
		for i := 0; i < p.n; i++ {
			s := &p.stores[i]
			s.t.StoreServer(s.key, srv.ID, stickServerKey(s.t, srv))
		}
	}
	p.n = 0
}

// stickServerKey is what a table's server_key holds for srv: its name,
// or with "srvkey addr" its address and port.
func stickServerKey(t *stick.Table, srv *Server) string {
	if t.Config().SrvKey == stick.SrvKeyAddr {
		return srv.Addr().String()
	}
	return srv.Name
}
