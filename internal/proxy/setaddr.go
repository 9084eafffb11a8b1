package proxy

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
)

// set-src, set-dst, set-src-port and set-dst-port change the addresses
// the rest of the transaction sees (src, dst, the log's %ci/%fi, the
// forwarded-for header, the PROXY header, balance source, stick tables),
// as HAProxy 2.6 changes its stream's front addresses; a server at
// 0.0.0.0 (or ::) connects to the destination so set. The connection's own
// addresses stay for fc_src and fc_dst, and for the next request.

func compileSetAddr(a *config.HTTPAction, env *RuleEnv, r *Rule) error {
	e, err := acl.CompileExprMaps(a.Sample, a.Pos, env.ACLs.Maps())
	if err != nil {
		return err
	}
	if err := acl.CheckContext(e.Uses(), acl.CtxHTTPRequest); err != nil {
		return config.Errorf(a.Pos, "'http-request %s': %v", a.Action, err)
	}
	r.Expr = e
	r.Kind = map[string]RuleKind{"set-src": RuleSetSrc, "set-dst": RuleSetDst, "set-src-port": RuleSetSrcPort, "set-dst-port": RuleSetDstPort}[a.Action]
	return nil
}

// setAddr applies one of the four rules. A sample that is absent, or not
// an address (a port: not an integer), leaves the address alone.
func (t *Txn) setAddr(r *Rule) {
	start := len(t.arena)
	var ok bool
	t.arena, ok = r.Expr.AppendString(t.arena, &t.acl)
	v := string(t.arena[start:])
	t.arena = t.arena[:start]
	if !ok {
		return
	}
	target := &t.acl.Src
	if r.Kind == RuleSetDst || r.Kind == RuleSetDstPort {
		target = &t.acl.Dst
	}
	switch r.Kind {
	case RuleSetSrc, RuleSetDst:
		ip, err := netip.ParseAddr(v)
		if err != nil || ip.Zone() != "" {
			return
		}
		*target = netip.AddrPortFrom(ip, target.Port()) // the port stays
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return
		}
		ip := target.Addr()
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified() // HAProxy: AF_INET 0.0.0.0
		}
		*target = netip.AddrPortFrom(ip, uint16(n)) // htons keeps 16 bits
	}
}

// serverDst is the address a server at 0.0.0.0 (or ::) connects to: the
// request's destination, with the server's port, or the destination's
// when the server has none; invalid for any other server.
func (t *Txn) serverDst(srv *Server) netip.AddrPort {
	a := srv.Addr()
	if !a.Addr().IsUnspecified() || !t.acl.Dst.IsValid() {
		return netip.AddrPort{}
	}
	port := a.Port()
	if port == 0 {
		port = t.acl.Dst.Port()
	}
	return netip.AddrPortFrom(t.acl.Dst.Addr().Unmap(), port)
}

// setTimeout applies "set-timeout server|tunnel": a fixed time, or an
// expression's milliseconds; a result that is not a positive number
// changes nothing.
func (t *Txn) setTimeout(r *Rule) {
	d := r.Timeout
	if r.Expr != nil {
		start := len(t.arena)
		out, ok := r.Expr.AppendString(t.arena, &t.acl)
		t.arena = out[:start]
		n, err := strconv.ParseInt(string(out[start:]), 10, 64)
		if !ok || err != nil || n <= 0 {
			return
		}
		d = time.Duration(n) * time.Millisecond
	}
	if r.Name == "tunnel" {
		t.tunnelTO = d
	} else {
		t.serverTO = d
	}
}

// serverTimeout is the backend's timeout server unless set-timeout
// changed it for this request.
func (t *Txn) serverTimeout() time.Duration {
	if t.serverTO > 0 {
		return t.serverTO
	}
	return t.be.Timeouts.Server
}

// tunnelTimeout is timeout tunnel as set-timeout may have changed it.
func (t *Txn) tunnelTimeout() time.Duration {
	if t.tunnelTO > 0 {
		return t.tunnelTO
	}
	return t.be.Timeouts.Tunnel
}
