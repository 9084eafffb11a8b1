package app

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// tcpRuleCtx is what a tcp-request rule set can read: connection rules
// the addresses, session rules the handshakes' results too, content rules
// the payload (and in mode http the request).
func tcpRuleCtx(layer string) acl.Context {
	switch layer {
	case "connection":
		return acl.CtxTCPConnection
	case "session":
		return acl.CtxTCPSession
	}
	return acl.CtxTCPContent
}

// scAction is a compiled sc-* action of a tcp-request rule.
type scAction struct {
	Op    stick.SCOp
	Slot  int
	Idx   int
	Set   *acl.Expr
	Value int64
}

func (b *builder) tcpSC(r *config.TCPAction, ctx acl.Context) (scAction, error) {
	sa := r.Stick
	op, ok := stick.ParseSCOp(r.Action)
	if !ok {
		return scAction{}, config.Errorf(r.Pos, "'tcp-request %s': unknown action '%s'", r.Layer, r.Action)
	}
	out := scAction{Op: op, Slot: sa.Slot, Idx: sa.Idx}
	if !op.TakesValue() {
		return out, nil
	}
	if v, err := strconv.ParseInt(sa.Value, 10, 64); err == nil {
		out.Value = v
		return out, nil
	}
	e, err := acl.CompileExprMaps(sa.Value, r.Pos, b.maps)
	if err != nil {
		return out, err
	}
	if err := e.Check(ctx); err != nil {
		return out, config.Errorf(r.Pos, "'tcp-request %s %s' : %v", r.Layer, r.Action, err)
	}
	out.Set = e
	return out, nil
}

// httpTCPStick compiles the stick action of an HTTP proxy's tcp-request
// rule (track-scN or an sc-* action) into rule.
func (b *builder) httpTCPStick(rule *proxy.ContentRule, p *config.Proxy, r *config.TCPAction, ctx acl.Context, countReq bool) error {
	sa := r.Stick
	if !strings.HasPrefix(r.Action, "track-sc") {
		sc, err := b.tcpSC(r, ctx)
		if err != nil {
			return err
		}
		rule.SC = &proxy.SCRule{Op: sc.Op, Slot: sc.Slot, Idx: sc.Idx, Set: sc.Set, Value: sc.Value}
		return nil
	}
	name := sa.Table
	if name == "" {
		name = p.Name
	}
	tab := b.stickTables[name]
	if tab == nil {
		return config.Errorf(r.Pos, "'tcp-request %s %s': no stick-table named '%s'", r.Layer, r.Action, name)
	}
	key, err := acl.CompileExprMaps(sa.Key, r.Pos, b.maps)
	if err != nil {
		return err
	}
	if err := key.Check(ctx); err != nil {
		return config.Errorf(r.Pos, "'tcp-request %s %s' : %v", r.Layer, r.Action, err)
	}
	rule.Track = &proxy.TrackRule{Slot: sa.Slot, Table: tab, Key: key, CountReq: countReq}
	return nil
}
