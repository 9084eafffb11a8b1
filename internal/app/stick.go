package app

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// buildStickTables makes every proxy's stick-table and the peers
// sections' tables. A reload starts them empty, as HAProxy's without
// peers; tables shared with peers keep their entries (peers.go).
func (b *builder) buildStickTables() error {
	ruled := b.stickRuleTables()
	type named struct {
		name string
		st   *config.StickTable
	}
	var all []named
	for _, p := range b.cfg.Proxies {
		if p.StickTable != nil {
			all = append(all, named{p.Name, p.StickTable})
		}
	}
	for _, ps := range b.cfg.Peers {
		for _, st := range ps.Tables {
			all = append(all, named{st.Name, st})
		}
	}
	for _, n := range all {
		st, name := n.st, n.name
		kt, ok := stick.ParseKeyType(st.Type)
		if !ok {
			return config.Errorf(st.Pos, "stick-table: unknown type '%s'", st.Type)
		}
		c := stick.Config{Name: name, Type: kt, KeyLen: st.KeyLen, Size: st.Size, Expire: st.Expire, NoPurge: st.NoPurge}
		for _, s := range st.Store {
			d, ok := stick.ParseDataType(s.Type)
			if !ok {
				return config.Errorf(st.Pos, "stick-table: unknown data type '%s'", s.Type)
			}
			c.Store = append(c.Store, stick.Store{Type: d, Period: s.Period, Count: s.Count})
		}
		if st.SrvKey == "addr" {
			c.SrvKey = stick.SrvKeyAddr
		}
		if ruled[name] {
			c.EnableServer()
		}
		t, err := stick.New(c, nil)
		if err != nil {
			return config.Errorf(st.Pos, "%v", err)
		}
		if b.stickTables == nil {
			b.stickTables = map[string]*stick.Table{}
		}
		b.stickTables[name] = t
		b.g.StickTables = append(b.g.StickTables, t)
	}
	return nil
}

// stickStage is a proxy's stick-table stage; a frontend has one whenever
// any table exists (its backends' rules may track), a backend only with a
// table of its own.
func (b *builder) stickStage(p *config.Proxy, frontend bool) *proxy.StickTables {
	if b.stickTables == nil || (!frontend && p.StickTable == nil) {
		return nil
	}
	return &proxy.StickTables{Own: b.stickTables[p.Name], All: b.stickTables}
}

// stickAction compiles track-scN, sc-inc-gpc0/1, sc-set-gpt0, sc-inc-gpc,
// sc-add-gpc and sc-set-gpt.
func (b *builder) stickAction(p *config.Proxy, a *config.HTTPAction) (func(*proxy.Txn) bool, error) {
	sa := a.Stick
	n := sa.Slot
	switch {
	case strings.HasPrefix(a.Action, "track-sc"):
		name := sa.Table
		if name == "" {
			name = p.Name
		}
		tab := b.stickTables[name]
		if tab == nil {
			return nil, config.Errorf(a.Pos, "'%s': no stick-table named '%s'", a.Action, name)
		}
		key, err := acl.CompileExprMaps(sa.Key, a.Pos, b.maps)
		if err != nil {
			return nil, err
		}
		// http-request counts the request; http-response tracks only.
		countReq := !sa.InResponse
		if sa.Key == "src" && (tab.Config().Type == stick.KeyIP || tab.Config().Type == stick.KeyIPv6) {
			return func(t *proxy.Txn) bool {
				src := t.Sample().Src
				var buf [16]byte
				if k, ok := tab.AppendKeyIP(buf[:0], src.Addr()); ok && src.IsValid() {
					t.Stick().TrackBytes(n, tab, k, countReq)
				}
				return false
			}, nil
		}
		return func(t *proxy.Txn) bool {
			if k, ok := key.StickKey(t.Sample(), tab); ok {
				t.Stick().Track(n, tab, k, countReq)
			}
			return false
		}, nil
	case a.Action == "sc-inc-gpc0" || a.Action == "sc-inc-gpc1":
		idx := int(a.Action[len(a.Action)-1] - '0')
		return func(t *proxy.Txn) bool {
			t.Stick().IncGPC(n, idx)
			return false
		}, nil
	case a.Action == "sc-inc-gpc":
		return func(t *proxy.Txn) bool {
			t.Stick().IncGPCAt(n, sa.Idx)
			return false
		}, nil
	}
	op, err := b.stickValueOp(a.Action, sa, a.Pos)
	if err != nil {
		return nil, err
	}
	return func(t *proxy.Txn) bool {
		op(t.Stick(), t.Sample())
		return false
	}, nil
}

// stickValueOp compiles the actions taking a value (sc-set-gpt0,
// sc-set-gpt, sc-add-gpc): an integer, or a sample expression whose
// integer value is used; without a value the action does nothing.
func (b *builder) stickValueOp(action string, sa *config.StickAction, pos config.Pos) (func(*stick.Stream, *acl.Txn), error) {
	n, idx := sa.Slot, sa.Idx
	var apply func(s *stick.Stream, v uint64)
	switch action {
	case "sc-set-gpt0":
		apply = func(s *stick.Stream, v uint64) { s.SetGPT0(n, v) }
	case "sc-set-gpt":
		apply = func(s *stick.Stream, v uint64) { s.SetGPTAt(n, idx, v) }
	case "sc-add-gpc":
		apply = func(s *stick.Stream, v uint64) { s.AddGPCAt(n, idx, v) }
	default:
		return nil, config.Errorf(pos, "unknown stick action '%s'", action)
	}
	if v, err := strconv.ParseInt(sa.Value, 10, 64); err == nil {
		return func(s *stick.Stream, _ *acl.Txn) { apply(s, uint64(v)) }, nil
	}
	e, err := acl.CompileExprMaps(sa.Value, pos, b.maps)
	if err != nil {
		return nil, err
	}
	return func(s *stick.Stream, t *acl.Txn) {
		if v, ok := e.Int(t); ok {
			apply(s, uint64(v))
		}
	}, nil
}

// StickTables lists the stick tables for the runtime API.
func (t *graphTarget) StickTables() []*stick.Table { return t.ops.g.StickTables }
