package app

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stats"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// maxAdminBody bounds what the stats page reads from an admin POST.
const maxAdminBody = 64 << 10

// statsService adapts the engine-neutral stats service to the proxy.
type statsService struct {
	svc   *stats.Service
	ops   *adminOps
	admin *acl.Cond // "stats admin if COND"; nil: the page is read-only
	rules []statsRule
}

// statsRule is a compiled "stats http-request" rule.
type statsRule struct {
	action, realm string
	cond          *acl.Cond // nil: always
}

// Access runs the "stats http-request" rules in order, as HAProxy runs
// them once the request is known to be for the page: the first whose
// condition holds decides; allow (or no rule matching) serves the page.
func (s *statsService) Access(t *proxy.Txn) (*proxy.Reply, bool) {
	for _, r := range s.rules {
		if r.cond != nil && !r.cond.Match(t.Sample()) {
			continue
		}
		switch r.action {
		case "deny":
			return &proxy.Reply{Status: 403}, true
		case "auth":
			a := stats.Unauthorized(&t.Req, r.realm)
			return &proxy.Reply{Status: a.Status, Header: a.Header, Body: a.Body}, false
		}
		return nil, false
	}
	return nil, false
}

func (s *statsService) Serve(t *proxy.Txn) *proxy.Reply {
	var body []byte
	if t.Req.HasBody() {
		b, err := io.ReadAll(io.LimitReader(t.Body(), maxAdminBody))
		if err != nil {
			return &proxy.Reply{Status: 400}
		}
		body = b
	}
	src := graphSource{g: s.ops.g, ops: s.ops, admin: s.admin, txn: t.Sample()}
	r := s.svc.WithSource(src).Serve(&t.Req, body)
	return &proxy.Reply{Status: r.Status, Header: r.Header, Body: r.Body}
}

// graphSource gives the stats service the graph's snapshot and, for one
// request, the admin actions.
type graphSource struct {
	g     *Graph
	ops   *adminOps
	admin *acl.Cond
	txn   *acl.Txn // the request being served; nil outside a request
}

func (s graphSource) Snapshot() *stats.Snapshot { return s.g.Snapshot() }

// AdminAllowed evaluates "stats admin if COND" against the request and
// its connection.
func (s graphSource) AdminAllowed(_ *httpmsg.Request, _ string) bool {
	return s.admin != nil && s.txn != nil && s.admin.Match(s.txn)
}

// ApplyAdmin applies a stats page action to the named servers. READY,
// DRAIN and MAINT are supported; the health and agent actions and
// "shutdown" belong to features Gatehouse does not drive from the page,
// and count as failed (the page then reports a partial result).
func (s graphSource) ApplyAdmin(a stats.AdminAction) (changed, failed int) {
	var to upstream.AdminState
	switch a.Action {
	case "ready":
		to = upstream.AdminReady
	case "drain":
		to = upstream.AdminDrain
	case "maint":
		to = upstream.AdminMaint
	default:
		return 0, len(a.Servers)
	}
	be := s.ops.backend(a.Backend)
	for _, name := range a.Servers {
		srv := s.ops.server(be, name)
		if srv == nil {
			failed++
			continue
		}
		s.ops.setAdmin(be, srv, to)
		changed++
	}
	return changed, failed
}

func (b *builder) statsService(p *config.Proxy) (proxy.Service, error) {
	cfg := *p.Stats
	if len(cfg.Rules) > 0 && (len(cfg.Auth) > 0 || cfg.Realm != "") {
		return nil, config.Errorf(cfg.Pos, "proxy '%s': stats 'auth'/'realm' and 'http-request' can't be used at the same time.", p.Name)
	}
	// "stats scope ." is the proxy serving the page.
	cfg.Scope = append([]string(nil), cfg.Scope...)
	for i, sc := range cfg.Scope {
		if sc == "." {
			cfg.Scope[i] = p.Name
		}
	}
	s := &statsService{svc: stats.NewService(&cfg, graphSource{g: b.g}), ops: b.adminOps()}
	if cfg.Admin == nil && len(cfg.Rules) == 0 {
		return s, nil
	}
	set, err := b.aclSet(p)
	if err != nil {
		return nil, err
	}
	if cfg.Admin != nil {
		if s.admin, err = set.Cond(cfg.Admin); err != nil {
			return nil, err
		}
	}
	for _, r := range cfg.Rules {
		sr := statsRule{action: r.Action, realm: r.Realm}
		if r.Cond != nil {
			if sr.cond, err = set.Cond(r.Cond); err != nil {
				return nil, err
			}
		}
		s.rules = append(s.rules, sr)
	}
	return s, nil
}

// service resolves "http-request use-service NAME".
func (b *builder) service(p *config.Proxy, name string, pos config.Pos) (proxy.Service, error) {
	switch name {
	case "prometheus-exporter":
		return promService{g: b.g}, nil
	}
	if strings.HasPrefix(name, "jwks:") {
		if svc, ok := b.ident.service(name); ok {
			return svc, nil
		}
		return nil, jwksError(name, pos)
	}
	return nil, config.Errorf(pos, "'http-request use-service %s': unknown service (available: prometheus-exporter, jwks:NAME)", name)
}

// promService is HAProxy's "prometheus-exporter" service: the metrics of
// the graph in Prometheus' text format; the query string selects scopes
// ("?scope=backend&scope=server", "no-maint") as in HAProxy.
type promService struct{ g *Graph }

func (s promService) Serve(t *proxy.Txn) *proxy.Reply {
	var buf bytes.Buffer
	if err := stats.WritePrometheusOptions(&buf, s.g.Snapshot(), stats.ParsePromQuery(t.Req.Query())); err != nil {
		return &proxy.Reply{Status: 500}
	}
	r := &proxy.Reply{Status: 200}
	r.Header.Add("Cache-Control", "no-cache")
	r.Header.Add("Content-Type", stats.PromContentType)
	r.Header.Add("Content-Length", strconv.Itoa(buf.Len()))
	if t.Req.Method != "HEAD" {
		r.Body = buf.Bytes()
	}
	return r
}

// adminOps changes servers' admin states for the stats page and the
// runtime API, logging each change as HAProxy does (srv_update_status,
// with the "forced" flags an operator sets).
type adminOps struct {
	g   *Graph
	sys *logging.Logger // global log targets
	// print is HAProxy's ha_warning/ha_alert on stderr (health.go's
	// printStderr); nil: none.
	print func(alert bool, msg string)
}

func (b *builder) adminOps() *adminOps { return &adminOps{g: b.g, sys: b.sys, print: b.printStderr()} }

func (o *adminOps) backend(name string) *proxy.Backend {
	for _, be := range o.g.Backends {
		if be.Name == name {
			return be
		}
	}
	return nil
}

func (o *adminOps) server(be *proxy.Backend, name string) *proxy.Server {
	if be == nil {
		return nil
	}
	for _, s := range be.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// logger is where a backend's server messages go: the log targets of its
// proxy when it is a listen with its own, else the global ones.
func (o *adminOps) logger(be *proxy.Backend) *logging.Logger {
	for _, fe := range o.g.Frontends {
		if fe.Name == be.Name && fe.Log != nil {
			return fe.Log
		}
	}
	return o.sys
}

// setAdmin moves srv to admin state to and logs the transition with
// HAProxy's wording, e.g. "Server be/s is going DOWN for maintenance. 1
// active and 0 backup servers left. 0 sessions active, 0 requeued, 0
// remaining in queue." It reports whether the state changed.
func (o *adminOps) setAdmin(be *proxy.Backend, srv *proxy.Server, to upstream.AdminState) bool {
	from := srv.Admin()
	actWas, bckWas := usable(be)
	wasDown := srv.Operational() == upstream.OpDown
	wasStopping := srv.Operational() == upstream.OpNoLB || from == upstream.AdminDrain
	if !srv.SetAdmin(to) {
		return false
	}
	name := be.Name + "/" + srv.Name
	if srv.Backup {
		name = "Backup Server " + name
	} else {
		name = "Server " + name
	}
	upDown := "UP"
	if srv.Operational() == upstream.OpDown {
		upDown = "DOWN"
	}
	level := logging.LevelNotice
	var msg string
	switch {
	case to == upstream.AdminMaint && (wasDown || from == upstream.AdminMaint):
		msg = name + " was DOWN and now enters maintenance"
	case to == upstream.AdminMaint:
		msg = name + " is going DOWN for maintenance" + o.left(be, srv)
		if !wasStopping {
			level = logging.LevelAlert
		}
	case from == upstream.AdminMaint:
		ready := "READY"
		if to == upstream.AdminDrain {
			ready = "DRAIN"
		}
		msg = name + " is " + upDown + "/" + ready + " (leaving forced maintenance)"
	case to == upstream.AdminDrain:
		msg = name + " enters drain state" + o.online(be)
	default: // drain -> ready
		msg = name + " is " + upDown + " (leaving forced drain)"
	}
	l := o.logger(be)
	if l != nil {
		l.Printf(level, "%s.", msg)
	}
	if o.print != nil {
		o.print(false, msg+".")
	}
	// The last usable server leaving: HAProxy's set_backend_down.
	if act, bck := usable(be); actWas+bckWas > 0 && act+bck == 0 {
		ptype := "backend"
		for _, p := range o.g.Cfg.Proxies {
			if p.Name == be.Name && p.Cap&config.CapFE != 0 {
				ptype = "proxy" // a listen section, as HAProxy's proxy_cap_str
			}
		}
		if l != nil {
			l.Printf(logging.LevelEmerg, "%s %s has no server available!", ptype, be.Name)
		}
		if o.print != nil {
			o.print(true, fmt.Sprintf("%s '%s' has no server available!", ptype, be.Name))
		}
	}
	return true
}

// usable counts the active and backup servers taking new traffic.
func usable(be *proxy.Backend) (act, bck int) {
	for _, s := range be.Servers {
		if s.Usable() {
			if s.Backup {
				bck++
			} else {
				act++
			}
		}
	}
	return act, bck
}

func runningOnBackup(act, bck int) string {
	if bck > 0 && act == 0 {
		return " Running on backup."
	}
	return ""
}

// left is HAProxy's srv_append_status for a server going down.
func (o *adminOps) left(be *proxy.Backend, srv *proxy.Server) string {
	act, bck := usable(be)
	return fmt.Sprintf(". %d active and %d backup servers left.%s %d sessions active, 0 requeued, 0 remaining in queue",
		act, bck, runningOnBackup(act, bck), srv.Cur())
}

// online is srv_append_status for a server that stays up.
func (o *adminOps) online(be *proxy.Backend) string {
	act, bck := usable(be)
	return fmt.Sprintf(". %d active and %d backup servers online.%s 0 sessions requeued, 0 total in queue",
		act, bck, runningOnBackup(act, bck))
}
