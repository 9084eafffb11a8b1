package app

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// httpTCPRules compiles the tcp-request rules of an HTTP proxy: content
// rules run on each request (proxy.ContentRule), connection rules at
// accept (connRules), session rules once per connection after its
// handshakes (fe.SessionRules; fe is nil for a backend). Variable actions
// of connection rules are refused here: no session exists yet to hold
// them.
func (b *builder) httpTCPRules(set *acl.Set, p *config.Proxy, fe *proxy.Frontend) (conn, content []proxy.ContentRule, err error) {
	warned := false
	for _, r := range p.TCPRequest {
		if r.Stick != nil && p.Mode == config.ModeTCP {
			continue // a mode tcp backend's HTTP view: l4 runs its rules
		}
		if r.Var != nil && r.Layer == "connection" {
			return nil, nil, config.Errorf(r.Pos, "'tcp-request %s %s' is not supported in mode http by this build yet (mode tcp has it)", r.Layer, r.Action)
		}
		ctx := tcpRuleCtx(r.Layer) // tcpsession.go
		rule := proxy.ContentRule{Reject: r.Action == "reject", Drop: r.Action == "silent-drop"}
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
		if r.Stick != nil {
			// A frontend's content track runs before HAProxy counts the
			// request, so it counts it; a backend's runs after.
			if err := b.httpTCPStick(&rule, p, r, ctx, fe != nil && r.Layer == "content"); err != nil {
				return nil, nil, err
			}
			if tr := rule.Track; tr != nil && fe != nil && r.Layer == "content" && !warned && tr.Key.Uses()&(acl.NeedReq|acl.NeedPayload) == 0 {
				// HAProxy's advice, once per frontend: such a track counts
				// every request as a connection.
				warned = true
				b.cfg.Warnings = append(b.cfg.Warnings, config.Diag{Warning: true, Msg: fmt.Sprintf("frontend '%s' : a 'tcp-request content track-sc*' rule not depending on request contents for an HTTP frontend should be executed at the session level, using a 'tcp-request session' rule (mandatory to track invalid HTTP requests).", p.Name)})
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
		switch r.Layer {
		case "connection":
			conn = append(conn, rule)
		case "session":
			if fe != nil {
				fe.SessionRules = append(fe.SessionRules, rule)
			}
		default:
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
	// stick: the frontend's stick stage when a rule tracks or counts
	// (the tracking goes on with the connection); nil otherwise.
	stick *proxy.StickTables
	// gate counts the connection as a session once the rules accept it
	// (maxsessrate, rate-limit sessions); nil: not counted.
	gate *ratelimit.Gate
}

// rejected runs the rules on c; the connection to serve is c, or c
// carrying what the rules tracked (proxy.WithTracking).
func (h *connRules) rejected(c net.Conn) (net.Conn, bool) {
	t := acl.Txn{Src: addrPortOf(c.RemoteAddr()), Dst: addrPortOf(c.LocalAddr())}
	var st *stick.Stream
	if h.stick != nil {
		st = &stick.Stream{Tables: h.stick.All, Current: h.stick.Own}
	}
	rej, drop := proxy.RunConnRules(h.rules, &t, st)
	if h.gate != nil {
		h.gate.Admitted(nowMillis(), !rej)
	}
	if rej {
		h.counters.ConnTot.Add(1)
		if st != nil {
			st.Release()
		}
		if drop {
			// Counted as a denied request, as HAProxy's silent-drop.
			h.counters.DenyReq.Add(1)
			sock.SilentDrop(c)
		} else {
			h.counters.DenyConn.Add(1)
			c.Close()
		}
		return c, true
	}
	if st != nil && tracksAny(&st.Tracker) {
		c = proxy.WithTracking(c, st)
	}
	return c, false
}

func (h *connRules) ServeConn(c net.Conn) {
	if c, rej := h.rejected(c); !rej {
		h.next.ServeConn(c)
	}
}

// ServeConnDetached keeps the listener's parking of idle connections.
func (h *connRules) ServeConnDetached(c net.Conn, done func()) {
	c, rej := h.rejected(c)
	if rej {
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

// withConnRules puts the connection rules in front of h, if any; st is
// the frontend's stick stage.
func withConnRules(h ConnHandler, rules []proxy.ContentRule, c *counters.Proxy, st *proxy.StickTables, gate *ratelimit.Gate) ConnHandler {
	if len(rules) == 0 {
		return h
	}
	cr := &connRules{next: h, rules: rules, counters: c, gate: gate}
	for _, r := range rules {
		if r.Track != nil || r.SC != nil {
			cr.stick = st
		}
	}
	return cr
}

// tracksAny reports whether k tracks an entry in any slot.
func tracksAny(k *stick.Tracker) bool {
	for n := 0; n < stick.Slots; n++ {
		if _, ok := k.Tracking(n); ok {
			return true
		}
	}
	return false
}
