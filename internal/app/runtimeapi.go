package app

import (
	"errors"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/health"
	"github.com/gatehouse/gatehouse/internal/maps"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/runtimeapi"
	"github.com/gatehouse/gatehouse/internal/stats"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// APISocket is one "stats socket": the Runtime owns the listening socket
// and keeps it across reloads (see Runtime.applySockets), pointing it at
// each new graph, so the runtime API never stops accepting.
type APISocket struct {
	Path   string // a unix socket's path, or a TCP address with Net
	Net    string // "": unix; "tcp", "tcp4", "tcp6"
	Opts   runtimeapi.Options
	Target runtimeapi.Target
}

// buildRuntimeAPI describes one runtime API socket per "stats socket"; the
// socket opens when the graph goes live (never for -c).
func (b *builder) buildRuntimeAPI() error {
	var errs []error
	for _, ss := range b.cfg.Global.StatsSockets {
		path, opts, err := socketOptions(ss)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		opts.Timeout, opts.MaxConn = b.cfg.Global.StatsTimeout, b.cfg.Global.StatsMaxConn
		b.g.Sockets = append(b.g.Sockets, &APISocket{Path: path, Net: ss.Net, Opts: opts, Target: &graphTarget{ops: b.adminOps()}})
	}
	return errors.Join(errs...)
}

// socketOptions validates a "stats socket" line without touching the file.
func socketOptions(ss *config.StatsSocket) (string, runtimeapi.Options, error) {
	lvl, err := runtimeapi.ParseLevel(ss.Level)
	if err != nil {
		return "", runtimeapi.Options{}, config.Errorf(ss.Pos, "'stats socket' : %v", err)
	}
	if ss.Path == "" || ss.Net == "" && strings.Contains(ss.Path, "@") && !strings.HasPrefix(ss.Path, "unix@") {
		return "", runtimeapi.Options{}, config.Errorf(ss.Pos, "'stats socket' : only unix sockets and TCP addresses are supported (got '%s')", ss.Path)
	}
	// The directory is not checked here but when the socket is bound
	// (Runtime.openSockets), as HAProxy's -c does not check it either: a
	// reload in a chroot jail keeps its open socket at a path the jail
	// cannot see.
	path := strings.TrimPrefix(ss.Path, "unix@")
	o := runtimeapi.Options{Level: lvl, Mode: os.FileMode(ss.Mode)}
	if ss.Net == "" && (ss.UID != nil || ss.GID != nil) {
		o.Owner = &runtimeapi.Owner{UID: -1, GID: -1}
		if ss.UID != nil {
			o.Owner.UID = *ss.UID
		}
		if ss.GID != nil {
			o.Owner.GID = *ss.GID
		}
	}
	return path, o, nil
}

// graphTarget is the graph as the runtime API sees it.
type graphTarget struct{ ops *adminOps }

func (t *graphTarget) Snapshot() *stats.Snapshot { return t.ops.g.Snapshot() }

// find resolves backend/server with HAProxy's error messages.
func (t *graphTarget) find(backend, server string) (*proxy.Backend, *proxy.Server, error) {
	be := t.ops.backend(backend)
	if be == nil {
		return nil, nil, errors.New("No such backend.\n")
	}
	srv := t.ops.server(be, server)
	if srv == nil {
		return nil, nil, errors.New("No such server.\n")
	}
	return be, srv, nil
}

func (t *graphTarget) SetServerState(backend, server, state string) error {
	be, srv, err := t.find(backend, server)
	if err != nil {
		return err
	}
	to := map[string]upstream.AdminState{"ready": upstream.AdminReady, "drain": upstream.AdminDrain, "maint": upstream.AdminMaint}[state]
	t.ops.setAdmin(be, srv, to)
	return nil
}

// SetServerWeight follows HAProxy's server_parse_weight_change_request.
func (t *graphTarget) SetServerWeight(backend, server, weight string) error {
	_, srv, err := t.find(backend, server)
	if err != nil {
		return err
	}
	return srv.ChangeWeight(weight)
}

func (t *graphTarget) ServerWeight(backend, server string) (int, int, error) {
	_, srv, err := t.find(backend, server)
	if err != nil {
		return 0, 0, err
	}
	return srv.Weight(), srv.InitialWeight(), nil
}

func (t *graphTarget) ServersState(backend string) ([]runtimeapi.ServerState, error) {
	var out []runtimeapi.ServerState
	found := false
	// The last check status is published in the stats rows.
	checks := map[[2]string]string{}
	for _, px := range t.ops.g.Snapshot().Proxies {
		for _, r := range px.Servers {
			checks[[2]string{px.Name, r.Name}] = r.CheckStatus
		}
	}
	for _, be := range t.ops.g.Backends {
		if backend != "" && be.Name != backend {
			continue
		}
		found = true
		for _, s := range be.Servers {
			out = append(out, apiServerState(be, s, checks[[2]string{be.Name, s.Name}]))
		}
	}
	if backend != "" && !found {
		return nil, errors.New("Can't find backend.\n")
	}
	return out, nil
}

func apiServerState(be *proxy.Backend, s *proxy.Server, check string) runtimeapi.ServerState {
	st := runtimeapi.ServerState{
		BackendID: be.ID, Backend: be.Name, ID: s.ID, Name: s.Name,
		Addr: s.Addr().Addr().String(), Port: int(s.Addr().Port()),
		UWeight: s.Weight(), IWeight: s.InitialWeight(), LastChange: s.LastChange(),
		CheckHealth: s.CheckHealth(), UseSSL: false,
	}
	switch s.Operational() {
	case upstream.OpDown:
		st.OpState = 0
	case upstream.OpNoLB:
		st.OpState = 3
	default:
		st.OpState = 2
	}
	if s.Admin() == upstream.AdminMaint {
		// HAProxy stops a server in maintenance (forced, configured or
		// for want of an address) and zeroes its health; a server-state
		// file saved from it must say so.
		st.OpState, st.CheckHealth = 0, 0
	}
	if !s.Addr().IsValid() && s.Cfg != nil {
		st.Port = s.Cfg.Port // no address yet: the configured port, as HAProxy's svc_port
	}
	switch s.ForcedAdmin() {
	case upstream.AdminMaint:
		st.AdminState = runtimeapi.AdmForcedMaint
	case upstream.AdminDrain:
		st.AdminState = runtimeapi.AdmForcedDrain
	}
	if s.InheritedMaint() {
		st.AdminState |= runtimeapi.AdmInheritedMaint
	}
	if s.InheritedDrain() {
		st.AdminState |= runtimeapi.AdmInheritedDrain
	}
	if cs := s.Cfg; cs != nil {
		st.UseSSL = cs.SSL
		if cs.Disabled {
			// "disabled" is remembered (CMAINT) even once set ready, so a
			// server-state file tells a configuration change from an
			// operator's one, as HAProxy's does.
			st.AdminState |= runtimeapi.AdmConfigMaint
			if !s.Checked() {
				st.CheckState |= runtimeapi.ChkPaused
				st.CheckHealth = 0
			}
		}
		if cs.Host != "" && cs.Host != st.Addr {
			st.FQDN = cs.Host
		}
		dnsServerState(&st, s)
		st.CheckPort, st.CheckAddr = cs.CheckPort, cs.CheckAddr
		if a, ok := s.Agent().(*health.Agent); ok && cs.Agent {
			st.Agent, st.AgentAddr, st.AgentPort = true, cs.AgentAddr, cs.AgentPort
			st.AgentState = runtimeapi.ChkConfigured | runtimeapi.ChkEnabled | runtimeapi.ChkAgent
			if a.State().Running {
				st.AgentState |= runtimeapi.ChkRunning
			}
		}
	}
	if s.Checked() {
		st.CheckState = runtimeapi.ChkConfigured | runtimeapi.ChkEnabled
		if s.Admin() == upstream.AdminMaint {
			st.CheckState |= runtimeapi.ChkPaused
		}
		if check == "" {
			check = "INI"
		}
		st.CheckStatus, st.CheckResult = runtimeapi.CheckStatusCode(check)
	} else {
		// HAProxy leaves a server without checks in the initial status.
		st.CheckStatus, st.CheckResult = runtimeapi.CheckStatusCode("INI")
	}
	return st
}

// Streams lists the requests in progress for "show sess".
func (t *graphTarget) Streams() []runtimeapi.Stream {
	var out []runtimeapi.Stream
	for _, st := range t.ops.g.Proc.Streams() {
		out = append(out, runtimeapi.Stream{ID: st.ID, Src: st.Src, Frontend: st.Frontend,
			Backend: st.Backend, Server: st.Server, Started: st.Started})
	}
	for _, pr := range t.ops.g.proxies {
		if pr.tcp == nil {
			continue
		}
		for _, st := range pr.tcp.Streams.List() {
			out = append(out, runtimeapi.Stream{ID: st.ID, Src: st.Src, Frontend: st.Frontend,
				Backend: st.Backend, Server: st.Server, Started: st.Started})
		}
	}
	return out
}

// Maps gives the runtime API the graph's pattern files (show/add/del/set
// map and acl); a reload builds new ones from the files.
func (t *graphTarget) Maps() *maps.Registry { return t.ops.g.Maps }

// SetDynamicCookie is "enable|disable dynamic-cookie backend <bk>".
func (t *graphTarget) SetDynamicCookie(backend string, on bool) error {
	be, err := t.cookieBackend(backend)
	if err == nil {
		be.Persist.SetDynamic(on)
	}
	return err
}

// SetDynamicCookieKey is "set dynamic-cookie-key backend <bk> <key>".
func (t *graphTarget) SetDynamicCookieKey(backend, key string) error {
	be, err := t.cookieBackend(backend)
	if err != nil {
		return err
	}
	if key == "" {
		return errors.New("String value expected.\n")
	}
	be.Persist.SetDynamicKey(key)
	return nil
}

// cookieBackend finds a backend with HAProxy's cli_find_backend messages.
func (t *graphTarget) cookieBackend(name string) (*proxy.Backend, error) {
	if name == "" {
		return nil, errors.New("A backend name is expected.\n")
	}
	be := t.ops.backend(name)
	if be == nil || be.Persist == nil {
		return nil, errors.New("No such backend.\n")
	}
	return be, nil
}
