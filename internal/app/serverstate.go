package app

import (
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/health"
	"github.com/gatehouse/gatehouse/internal/serverstate"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// stateFile returns the saved states a backend loads (nil for none) and
// reads each file once per build. Problems are warnings, never errors:
// HAProxy starts without the states it cannot read.
func (b *builder) stateFile(p *config.Proxy) *serverstate.File {
	var name string
	switch p.LoadServerState {
	case "global":
		if b.cfg.Global.ServerStateFile == "" {
			b.warnState("backend '%s': 'load-server-state-from-file global' without a global 'server-state-file'", p.Name)
			return nil
		}
		name = b.cfg.Global.ServerStateFile
	case "local":
		name = p.ServerStateFileName
		if name == "" {
			name = p.Name
		}
	default:
		return nil
	}
	if !filepath.IsAbs(name) && b.cfg.Global.ServerStateBase != "" {
		name = filepath.Join(b.cfg.Global.ServerStateBase, name)
	}
	if b.states == nil {
		b.states = map[string]*serverstate.File{}
	}
	if f, seen := b.states[name]; seen {
		return f
	}
	f, warns, err := serverstate.Read(name)
	for _, w := range warns {
		b.warnState("%s", w)
	}
	if err != nil {
		if p.LoadServerState == "global" {
			b.warnState("config: %s", strings.Replace(err.Error(), "server state file", "global server state file", 1))
		} else {
			b.warnState("config: backend '%s': %v", p.Name, err)
		}
	}
	b.states[name] = f
	return f
}

func (b *builder) warnState(format string, args ...any) {
	b.g.Warnings = append(b.g.Warnings, config.Errorf(config.Pos{}, format, args...).Msg)
}

// savedAddr is the saved address of a server given by name (HAProxy's
// default init-addr "last,libc" uses it before resolving), with the saved
// port if there is one.
func savedAddr(cs *config.Server, l *serverstate.Line) (netip.AddrPort, bool) {
	if l == nil || l.Addr == "-" {
		return netip.AddrPort{}, false
	}
	if _, err := netip.ParseAddr(strings.Trim(cs.Host, "[]")); err == nil {
		return netip.AddrPort{}, false // an address in the configuration is used as written
	}
	a, err := netip.ParseAddr(l.Addr)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return savedPort(netip.AddrPortFrom(a.Unmap(), uint16(cs.Port)), l), true
}

// savedPort replaces the port with the saved one, as HAProxy restores
// srv_port whatever the configuration says.
func savedPort(ap netip.AddrPort, l *serverstate.Line) netip.AddrPort {
	if l == nil || l.Port < 0 {
		return ap
	}
	return netip.AddrPortFrom(ap.Addr(), uint16(l.Port))
}

// restoreServer applies a saved state as HAProxy's srv_state_srv_update
// does: the operational state and check health, the admin state unless
// the configuration changed it ("disabled"), drain, the weight set at run
// time if the configured weight is unchanged, and the age of the state.
// It runs when the graph goes live, before the health checks start.
func restoreServer(p *config.Proxy, srv *upstream.Server, l *serverstate.Line, now time.Time) {
	if l.BkForcedID && p.ID != 0 && l.BackendID != p.ID {
		return // HAProxy: the backend's forced id does not match
	}
	if l.SrvForcedID && l.ServerID != srv.ID {
		return
	}
	rise, fall := srv.Rise(), srv.Fall()
	h := l.CheckHealth
	op := upstream.OpUp
	switch l.OpState {
	case serverstate.OpStopped:
		h, op = 0, upstream.OpDown
	case serverstate.OpStarting:
		if rise == 1 {
			h = rise + fall - 1
		} else if h < 1 || h >= rise {
			h = rise - 1
		}
	case serverstate.OpStopping:
		if fall == 1 {
			h, op = 0, upstream.OpDown
		} else {
			if h < rise || h > rise+fall-2 {
				h = rise
			}
			op = upstream.OpNoLB
		}
	case serverstate.OpRunning:
		h = rise + fall - 1
	}
	if c, ok := srv.Monitor().(*health.Checker); ok {
		c.RestoreHealth(h)
	} else {
		srv.SetCheckHealth(h)
	}
	srv.SetOperational(op)

	cfgMaint := srv.Cfg.Disabled
	savedCfgMaint := l.AdminState&serverstate.AdmConfigMaint != 0
	switch {
	case savedCfgMaint != cfgMaint: // the configuration changed: it wins
	case l.AdminState&serverstate.AdmForcedMaint != 0 && !cfgMaint:
		srv.SetAdmin(upstream.AdminMaint)
	case l.AdminState&serverstate.AdmForcedMaint == 0 && cfgMaint:
		srv.SetAdmin(upstream.AdminReady)
	}
	if srv.Admin() != upstream.AdminMaint && l.AdminState&serverstate.AdmForcedDrain != 0 &&
		(l.IWeight > 0 || srv.InitialWeight() == 0) {
		srv.SetAdmin(upstream.AdminDrain)
	}
	if l.IWeight == srv.InitialWeight() {
		srv.SetWeight(l.UWeight)
	}
	srv.RestoreLastChange(now.Add(-time.Duration(l.SinceChange) * time.Second))
}
