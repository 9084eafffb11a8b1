package app

import (
	"net"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// httpTCPRules compiles the tcp-request rules of an HTTP proxy: content
// rules run on each request (proxy.ContentRule), connection rules at
// accept (connRules). Variable actions of connection rules are refused
// here: no session exists yet to hold them.
func httpTCPRules(set *acl.Set, p *config.Proxy) (conn, content []proxy.ContentRule, err error) {
	for _, r := range p.TCPRequest {
		if r.Stick != nil {
			if p.Mode == config.ModeTCP {
				continue // a mode tcp backend's HTTP view: l4 runs its rules
			}
			return nil, nil, config.Errorf(r.Pos, "'tcp-request %s %s' is not supported in mode http by this build yet (mode tcp has it; http-request track-sc counts the same)", r.Layer, r.Action)
		}
		if r.Var != nil && r.Layer == "connection" {
			return nil, nil, config.Errorf(r.Pos, "'tcp-request %s %s' is not supported in mode http by this build yet (mode tcp has it)", r.Layer, r.Action)
		}
		ctx := acl.CtxTCPContent
		if r.Layer == "connection" {
			ctx = acl.CtxTCPConnection
		}
		rule := proxy.ContentRule{Reject: r.Action == "reject"}
		if r.Var != nil {
			if rule.Var, err = proxy.CompileVarAction(r.Var, "tcp-request "+r.Layer, ctx); err != nil {
				return nil, nil, err
			}
			if r.Var.Kind == "set-var-fmt" {
				if rule.VarFormat, err = proxy.VarFormat(r.Var.Expr, r.Pos); err != nil {
					return nil, nil, err
				}
			}
		}
		if r.Cond != nil {
			c, err := set.Cond(r.Cond)
			if err != nil {
				return nil, nil, err
			}
			if err := c.Check(ctx); err != nil {
				return nil, nil, config.Errorf(r.Pos, "'tcp-request %s %s' : %v", r.Layer, r.Action, err)
			}
			rule.Cond = c
		}
		if r.Layer == "connection" {
			conn = append(conn, rule)
		} else {
			content = append(content, rule)
		}
	}
	return conn, content, nil
}

// connRules runs an HTTP frontend's tcp-request connection rules on each
// accepted connection, with its real addresses (before any PROXY header,
// as in HAProxy): a reject closes it at once, counted in dcon, never
// logged.
type connRules struct {
	next     ConnHandler
	rules    []proxy.ContentRule
	counters *counters.Proxy
}

func (h *connRules) rejected(c net.Conn) bool {
	t := acl.Txn{Src: addrPortOf(c.RemoteAddr()), Dst: addrPortOf(c.LocalAddr())}
	for i := range h.rules {
		r := &h.rules[i]
		if r.Cond == nil || r.Cond.Match(&t) {
			if r.Reject {
				h.counters.ConnTot.Add(1)
				h.counters.DenyConn.Add(1)
				c.Close()
			}
			return r.Reject
		}
	}
	return false
}

func (h *connRules) ServeConn(c net.Conn) {
	if !h.rejected(c) {
		h.next.ServeConn(c)
	}
}

// ServeConnDetached keeps the listener's parking of idle connections.
func (h *connRules) ServeConnDetached(c net.Conn, done func()) {
	if h.rejected(c) {
		done()
		return
	}
	if d, ok := h.next.(detachedHandler); ok {
		d.ServeConnDetached(c, done)
		return
	}
	defer done()
	h.next.ServeConn(c)
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// withConnRules puts the connection rules in front of h, if any.
func withConnRules(h ConnHandler, rules []proxy.ContentRule, c *counters.Proxy) ConnHandler {
	if len(rules) == 0 {
		return h
	}
	return &connRules{next: h, rules: rules, counters: c}
}
