package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/resolve"
	"github.com/gatehouse/gatehouse/internal/runtimeapi"
	"github.com/gatehouse/gatehouse/internal/serverstate"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// resolvConfPath is what "parse-resolv-conf" reads.
const resolvConfPath = "/etc/resolv.conf"

// initServer builds a server at the address its "init-addr" methods find,
// tried in order (HAProxy's default "last,libc"): last is the address the
// server-state file kept (with its port, as HAProxy restores srv_port); libc the system resolver (never for an SRV
// name); none starts the server without one, in MAINT (resolution); an IP
// is used as is. When nothing gives an address, a server that follows
// "resolvers" starts in MAINT (resolution) with HAProxy's warning; any
// other is an error.
func (b *builder) initServer(cs *config.Server, id int, backend string, saved *serverstate.Line) (*upstream.Server, error) {
	methods := cs.DNS.InitAddr
	if methods == nil {
		methods = []string{"last", "libc"}
	}
	if cs.Port < 0 || cs.Port > 65535 {
		return nil, config.Errorf(cs.Pos, "'server %s/%s' : invalid port %d.", backend, cs.Name, cs.Port)
	}
	if ip, err := netip.ParseAddr(trimBrackets(cs.Host)); err == nil {
		return upstream.NewServer(cs, id, netip.AddrPortFrom(ip.Unmap(), uint16(cs.Port))), nil
	}
	for _, m := range methods {
		switch m {
		case "last":
			if ap, ok := savedAddr(cs, saved); ok {
				return upstream.NewServer(cs, id, ap), nil
			}
		case "libc":
			if config.SRV(cs.Host) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", cs.Host)
			cancel()
			if err != nil || len(addrs) == 0 {
				continue
			}
			ap := netip.AddrPortFrom(resolve.Pick(addrs, cs.DNS.PreferIPv4, cs.DNS.Nets).Unmap(), uint16(cs.Port))
			return upstream.NewServer(cs, id, savedPort(ap, saved)), nil
		case "none":
			return unresolved(cs, id), nil
		default:
			ip, _ := netip.ParseAddr(m)
			return upstream.NewServer(cs, id, netip.AddrPortFrom(ip.Unmap(), uint16(cs.Port))), nil
		}
	}
	if cs.DNS.Resolvers != "" {
		if !config.SRV(cs.Host) {
			b.cfg.Warnings = append(b.cfg.Warnings, config.Diag{Pos: cs.Pos, Warning: true,
				Msg: fmt.Sprintf("'server %s/%s' : could not resolve address '%s', disabling server.", backend, cs.Name, cs.Host)})
		}
		return unresolved(cs, id), nil
	}
	return nil, config.Errorf(cs.Pos, "'server %s/%s' : could not resolve address '%s'.", backend, cs.Name, cs.Host)
}

// unresolved is a server without an address, in MAINT (resolution); it
// keeps the configured port, as HAProxy shows it.
func unresolved(cs *config.Server, id int) *upstream.Server {
	s := upstream.NewServer(cs, id, netip.AddrPortFrom(netip.Addr{}, uint16(max(cs.Port, 0))))
	s.SetResolutionMaint(true)
	return s
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// inheritDNS carries DNS state across a reload: Gatehouse reloads in
// process, so the running graph is the state HAProxy's users keep in a
// server-state file between reloads (which HAProxy restores whatever
// init-addr says). A server that follows resolvers starts where its
// namesake (same backend, server, name and port) is: address, SRV target,
// weight from the record, MAINT (resolution). Without this, slots would
// wait in MAINT for the first answer and requests arriving then would
// find no server.
func inheritDNS(g, old *Graph) {
	if old == nil || len(g.resolvers) == 0 {
		return
	}
	for _, be := range g.Backends {
		var prev *proxy.Backend
		for _, o := range old.Backends {
			if o.Name == be.Name {
				prev = o
			}
		}
		if prev == nil {
			continue
		}
		for _, s := range be.Servers {
			cs := s.Cfg
			if cs.DNS.Resolvers == "" {
				continue
			}
			var o *proxy.Server
			for _, x := range prev.Servers {
				if x.Name == s.Name && x.Cfg.Host == cs.Host && x.Cfg.Port == cs.Port {
					o = x
				}
			}
			if o == nil {
				continue
			}
			if o.HasAddr() {
				s.SetAddr(o.Addr())
			}
			if config.SRV(cs.Host) {
				s.SetHostname(o.Hostname())
				if !cs.DNS.IgnoreWeight {
					s.SetWeight(o.Weight())
				}
			}
			s.SetResolutionMaint(o.ResolutionMaint())
		}
	}
}

// buildResolvers starts a resolver per "resolvers" section that servers
// use, and hands it those servers. Resolution runs while the graph is live.
func (b *builder) buildResolvers() error {
	sections := b.cfg.Resolvers
	if d := implicitDefault(sections); d != nil {
		sections = append(sections, d)
	}
	if len(sections) == 0 {
		return nil
	}
	byName := map[string]*resolve.Resolvers{}
	for _, rc := range sections {
		r, err := resolve.New(rc, resolvConfPath)
		if err != nil {
			return config.Errorf(rc.Pos, "%v", err)
		}
		byName[rc.Name] = r
		b.g.resolvers = append(b.g.resolvers, r)
	}
	for _, be := range b.g.Backends {
		for _, s := range be.Servers {
			// A server given by address has no name to follow (HAProxy
			// makes no resolution for it either).
			if _, err := netip.ParseAddr(trimBrackets(s.Cfg.Host)); err == nil {
				continue
			}
			if n := s.Cfg.DNS.Resolvers; n != "" {
				r := byName[n]
				if r == nil { // "default" without a nameserver in resolv.conf
					return config.Errorf(s.Cfg.Pos, "'server %s/%s' : unable to find required resolvers '%s' (no nameserver in %s)", be.Name, s.Name, n, resolvConfPath)
				}
				r.Add(be.Name, s.Server)
			}
		}
	}
	all := b.g.resolvers
	b.g.starters = append(b.g.starters, func() {
		for _, r := range all {
			r.Start()
		}
	})
	stop := func() {
		for _, r := range all {
			r.Stop()
		}
	}
	b.g.retirers = append(b.g.retirers, stop)
	b.g.stoppers = append(b.g.stoppers, stop)
	return nil
}

// implicitDefault is the "default" resolvers section HAProxy 2.6 makes
// from /etc/resolv.conf when the configuration declares none by that name
// (servers may name it without declaring it); nil when resolv.conf gives
// no nameserver, as HAProxy then silently makes none.
func implicitDefault(declared []*config.Resolvers) *config.Resolvers {
	for _, r := range declared {
		if r.Name == "default" {
			return nil
		}
	}
	d := config.NewResolvers("default", config.Pos{})
	d.ParseResolvConf = true
	if _, err := resolve.New(d, resolvConfPath); err != nil {
		return nil
	}
	return d
}

// ShowResolvers is the runtime API's "show resolvers [<section>]".
func (t *graphTarget) ShowResolvers(w io.Writer, section string) error {
	g := t.ops.g
	if len(g.resolvers) == 0 {
		io.WriteString(w, "No resolvers found\n")
		return nil
	}
	found := false
	for _, r := range g.resolvers {
		if section == "" || r.Name == section {
			found = true
			r.WriteShow(w)
		}
	}
	if !found {
		return fmt.Errorf("Can't find that resolvers section\n")
	}
	return nil
}

// dnsServerState fills what DNS adds to a "show servers state" line as
// HAProxy 2.6 prints it: in MAINT (resolution) the RMAINT bit and the
// stopped state; no address while there is none; for an SRV slot the
// record (srvrecord), the target it follows (srv_fqdn), and the HMAINT bit
// once a record gave it one.
func dnsServerState(st *runtimeapi.ServerState, s *proxy.Server) {
	if s.ResolutionMaint() {
		st.AdminState |= runtimeapi.AdmResolutionMaint
		st.OpState = 0
	}
	if !s.HasAddr() {
		st.Addr = ""
	}
	if config.SRV(s.Cfg.Host) {
		st.SRVRecord = s.Cfg.Host
		st.FQDN = s.Hostname()
		if s.HostnameFromDNS() {
			st.AdminState |= runtimeapi.AdmHostnameMaint
		}
	}
}
