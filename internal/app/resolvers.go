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
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// resolvConfPath is what "parse-resolv-conf" reads.
const resolvConfPath = "/etc/resolv.conf"

// followsDNS reports whether a server's address comes through init-addr
// and the resolvers rather than the plain start-time lookup.
func followsDNS(cs *config.Server) bool {
	return cs.DNS.Resolvers != "" || cs.DNS.InitAddr != nil || config.SRV(cs.Host)
}

// initServer builds a server whose first address comes from its
// "init-addr" methods, tried in order (HAProxy's default "last,libc"):
// last is the address the running configuration's server of the same
// name had; libc the system resolver (never for an SRV name); none starts
// the server without one, in MAINT (resolution); an IP is used as is.
func (b *builder) initServer(cs *config.Server, id int, backend string) (*upstream.Server, error) {
	methods := cs.DNS.InitAddr
	if methods == nil {
		methods = []string{"last", "libc"}
	}
	if ip, err := netip.ParseAddr(trimBrackets(cs.Host)); err == nil {
		return upstream.NewServer(cs, id, netip.AddrPortFrom(ip.Unmap(), uint16(cs.Port))), nil
	}
	var lastErr error
	for _, m := range methods {
		switch m {
		case "last":
			if ap, ok := b.lastAddr(backend, cs.Name); ok {
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
				lastErr = err
				continue
			}
			return upstream.NewServer(cs, id, netip.AddrPortFrom(resolve.Pick(addrs, cs.DNS.PreferIPv4, cs.DNS.Nets), uint16(cs.Port))), nil
		case "none":
			s := upstream.NewServer(cs, id, netip.AddrPort{})
			s.SetResolutionMaint(true)
			return s, nil
		default:
			ip, _ := netip.ParseAddr(m)
			return upstream.NewServer(cs, id, netip.AddrPortFrom(ip.Unmap(), uint16(cs.Port))), nil
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no init-addr method gave an address (add 'none' to start without one)")
	}
	return nil, config.Errorf(cs.Pos, "could not resolve address '%s' of server '%s': %v", cs.Host, cs.Name, lastErr)
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// lastAddr is "init-addr last": the address HAProxy's server-state file
// kept for the server. Without a state file to read (Gatehouse does not
// load one yet) there is none, and the next method is tried, as HAProxy
// does when the file has no line for the server.
func (b *builder) lastAddr(backend, name string) (netip.AddrPort, bool) {
	return netip.AddrPort{}, false
}

// buildResolvers starts a resolver per "resolvers" section that servers
// use, and hands it those servers. Resolution runs while the graph is live.
func (b *builder) buildResolvers() error {
	if len(b.cfg.Resolvers) == 0 {
		return nil
	}
	byName := map[string]*resolve.Resolvers{}
	for _, rc := range b.cfg.Resolvers {
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
				byName[n].Add(be.Name, s.Server)
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

// dnsServerState fills what DNS adds to a "show servers state" line: the
// RMAINT bit, no address while there is none, and for an SRV slot the
// record (srvrecord) and the target it follows (srv_fqdn).
func dnsServerState(st *runtimeapi.ServerState, s *proxy.Server) {
	if s.ResolutionMaint() {
		st.AdminState |= runtimeapi.AdmResolutionMaint
	}
	if !s.HasAddr() {
		st.Addr = ""
	}
	if config.SRV(s.Cfg.Host) {
		st.SRVRecord = s.Cfg.Host
		st.FQDN = s.Hostname()
	}
}
