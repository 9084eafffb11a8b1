package acl

import (
	"strings"
	"time"
)

// ProxyInfo answers the fetches about proxies and servers (fe_conn,
// be_sess_rate, srv_is_up, queue, ...). Names are a frontend's, a
// backend's (a listen section is both) or a server's in a backend; ok is
// false for an unknown name, and the fetch then gives nothing.
type ProxyInfo interface {
	Frontend(name string) (FrontendInfo, bool)
	Backend(name string) (BackendInfo, bool)
	Server(backend, server string) (ServerInfo, bool)
}

// FrontendInfo is a frontend's state as the fe_* fetches read it.
type FrontendInfo struct {
	ID                      int
	Conn, SessRate, ReqRate int64
	DefaultBackend          string        // fe_defbe; "" when none
	ClientTimeout           time.Duration // fe_client_timeout
}

// BackendInfo is a backend's state as the be_* fetches, queue, avg_queue
// and connslots read it. Active: usable servers (nbsrv); FreeConn and
// FreeQueue: free connection and queue slots of those servers, -1 when one
// of them is unlimited.
type BackendInfo struct {
	ID                           int
	Conn, SessRate, Queue        int64
	Active                       int64
	FreeConn, FreeQueue          int64
	ServerTimeout, TunnelTimeout time.Duration // be_server_timeout, be_tunnel_timeout
}

// ServerInfo is a server's state as the srv_* fetches read it; FreeConn
// is -1 without maxconn.
type ServerInfo struct {
	ID                              int
	Up                              bool
	Conn, Queue, SessRate, FreeConn int64
	// Weight is the current weight (HAProxy's cur_eweight: a draining
	// server keeps it), UWeight the user's (set weight), IWeight the
	// configured one.
	Weight, UWeight, IWeight int64
}

func stateFetches() []fetchDef {
	fe := func(name, doc string, get func(FrontendInfo) int64) fetchDef {
		return fetchDef{name: name, args: "S", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			n := t.Frontend
			if a.n > 0 {
				n = a.str[0]
			}
			if t.Proxies == nil {
				return sample{}, c, fNone
			}
			f, ok := t.Proxies.Frontend(n)
			if !ok {
				return sample{}, c, fNone
			}
			return intSmp(get(f)), c, fVal
		}, doc: doc}
	}
	be := func(name, doc string, get func(BackendInfo) int64) fetchDef {
		return fetchDef{name: name, args: "S", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			b, ok := backendInfo(t, a)
			if !ok {
				return sample{}, c, fNone
			}
			return intSmp(get(b)), c, fVal
		}, doc: doc}
	}
	srv := func(name string, out smpType, doc string, get func(ServerInfo) int64) fetchDef {
		return fetchDef{name: name, args: "s", out: out, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			s, ok := serverInfo(t, a.str[0])
			if !ok {
				return sample{}, c, fNone
			}
			if out == tBool {
				return boolSmp(get(s) != 0), c, fVal
			}
			return intSmp(get(s)), c, fVal
		}, doc: doc}
	}
	return []fetchDef{
		fe("fe_conn", "connections established on the frontend (the current one, or the named one)", func(f FrontendInfo) int64 { return f.Conn }),
		fe("fe_sess_rate", "sessions per second on the frontend, over the last second", func(f FrontendInfo) int64 { return f.SessRate }),
		fe("fe_req_rate", "HTTP requests per second on the frontend, over the last second", func(f FrontendInfo) int64 { return f.ReqRate }),
		{name: "fe_id", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Proxies == nil {
				return sample{}, c, fNone
			}
			f, ok := t.Proxies.Frontend(t.Frontend)
			if !ok {
				return sample{}, c, fNone
			}
			return intSmp(int64(f.ID)), c, fVal
		}, doc: "the frontend's numeric id"},
		be("be_conn", "requests being served by the backend (the current one, or the named one)", func(b BackendInfo) int64 { return b.Conn }),
		be("be_sess_rate", "sessions per second on the backend, over the last second", func(b BackendInfo) int64 { return b.SessRate }),
		be("queue", "requests waiting in the backend's queue, its servers' included", func(b BackendInfo) int64 { return b.Queue }),
		be("avg_queue", "queue divided by the usable servers; twice the queue when none is usable", func(b BackendInfo) int64 {
			if b.Active == 0 {
				return 2 * b.Queue
			}
			return b.Queue / b.Active
		}),
		be("connslots", "free connection and queue slots of the usable servers; -1 when a server has no maxconn or no maxqueue", func(b BackendInfo) int64 {
			if b.FreeConn < 0 || b.FreeQueue < 0 {
				return -1
			}
			return b.FreeConn + b.FreeQueue
		}),
		be("be_conn_free", "free connection slots of the usable servers; -1 when a server has no maxconn", func(b BackendInfo) int64 { return b.FreeConn }),
		{name: "be_id", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			b, ok := backendInfo(t, &fetchArgs{})
			if !ok || t.Backend == "" {
				return sample{}, c, fNone
			}
			return intSmp(int64(b.ID)), c, fVal
		}, doc: "the backend's numeric id (once the backend is chosen)"},
		srv("srv_conn", tInt, "connections established on [<backend>/]<server>", func(s ServerInfo) int64 { return s.Conn }),
		srv("srv_conn_free", tInt, "free connection slots of the server; -1 without maxconn", func(s ServerInfo) int64 { return s.FreeConn }),
		srv("srv_is_up", tBool, "true when the server is neither down nor in maintenance", func(s ServerInfo) int64 {
			if s.Up {
				return 1
			}
			return 0
		}),
		srv("srv_queue", tInt, "requests waiting for that server in particular", func(s ServerInfo) int64 { return s.Queue }),
		srv("srv_weight", tInt, "the server's current weight (a draining server keeps it)", func(s ServerInfo) int64 { return s.Weight }),
		srv("srv_uweight", tInt, "the server's user-visible weight (its configured one until 'set weight')", func(s ServerInfo) int64 { return s.UWeight }),
		srv("srv_iweight", tInt, "the server's initial (configured) weight", func(s ServerInfo) int64 { return s.IWeight }),
		{name: "fe_defbe", out: tStr, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Proxies == nil {
				return sample{}, c, fNone
			}
			f, ok := t.Proxies.Frontend(t.Frontend)
			if !ok || f.DefaultBackend == "" {
				return sample{}, c, fNone
			}
			return strSmp(f.DefaultBackend), c, fVal
		}, doc: "the frontend's default backend"},
		{name: "fe_client_timeout", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Proxies == nil {
				return sample{}, c, fNone
			}
			f, ok := t.Proxies.Frontend(t.Frontend)
			if !ok {
				return sample{}, c, fNone
			}
			return intSmp(f.ClientTimeout.Milliseconds()), c, fVal
		}, doc: "the frontend's configured 'timeout client', in milliseconds"},
		{name: "be_server_timeout", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			b, ok := backendInfo(t, &fetchArgs{})
			if !ok || t.Backend == "" {
				return sample{}, c, fNone
			}
			return intSmp(b.ServerTimeout.Milliseconds()), c, fVal
		}, doc: "the backend's configured 'timeout server', in milliseconds"},
		{name: "be_tunnel_timeout", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			b, ok := backendInfo(t, &fetchArgs{})
			if !ok || t.Backend == "" {
				return sample{}, c, fNone
			}
			return intSmp(b.TunnelTimeout.Milliseconds()), c, fVal
		}, doc: "the backend's configured 'timeout tunnel', in milliseconds"},
		srv("srv_sess_rate", tInt, "sessions per second on the server, over the last second", func(s ServerInfo) int64 { return s.SessRate }),
		{name: "srv_id", out: tInt, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Server == "" || t.Proxies == nil {
				return sample{}, c, fNone
			}
			s, ok := t.Proxies.Server(t.Backend, t.Server)
			if !ok {
				return sample{}, c, fNone
			}
			return intSmp(int64(s.ID)), c, fVal
		}, doc: "the numeric id of the server the request went to; nothing before one is chosen"},
	}
}

func backendInfo(t *Txn, a *fetchArgs) (BackendInfo, bool) {
	n := t.Backend
	if a.n > 0 {
		n = a.str[0]
	} else if n == "" {
		n = t.Frontend // a listen section is its own backend
	}
	if t.Proxies == nil {
		return BackendInfo{}, false
	}
	return t.Proxies.Backend(n)
}

// serverInfo looks up "[<backend>/]<server>".
func serverInfo(t *Txn, arg string) (ServerInfo, bool) {
	be, name, ok := strings.Cut(arg, "/")
	if !ok {
		be, name = t.Backend, arg
		if be == "" {
			be = t.Frontend
		}
	}
	if t.Proxies == nil {
		return ServerInfo{}, false
	}
	return t.Proxies.Server(be, name)
}
