package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/peers"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// buildPeers makes a peers.Section for each enabled "peers" section,
// sharing the proxies' tables that name it and its own 'table' lines.
// Nothing listens or connects before the graph starts.
func (b *builder) buildPeers() error {
	b.g.shared = map[*stick.Table]bool{}
	for _, ps := range b.cfg.Peers {
		if ps.Disabled {
			continue
		}
		pc := peers.Config{Name: ps.Name, Local: b.cfg.LocalPeer, Bind: ps.Bind}
		for _, pe := range ps.Peers {
			c := peers.PeerConfig{Name: pe.Name, Addr: pe.Addr}
			if srv := pe.Server; srv != nil && srv.SSL && pe.Name != b.cfg.LocalPeer {
				tpl, err := tlsconf.NewClientTemplate(srv, tlsconf.WithDefaultVerify(b.cfg.Global.SSLServerVerify), tlsconf.WithLoadOptions(b.tlsLoadOptions()))
				if err != nil {
					return err
				}
				c.TLS = tpl.ForSNI("")
			}
			pc.Peers = append(pc.Peers, c)
		}
		if bind := ps.BindConf; bind != nil && bind.SSL {
			store, err := tlsconf.LoadBindStore(bind, b.tlsLoadOptions())
			if err != nil {
				return config.Errorf(ps.BindPos, "peers '%s': bind: %v", ps.Name, err)
			}
			b.g.Stores = append(b.g.Stores, store)
			if pc.ServerTLS, err = tlsconf.ServerConfig(store, bind); err != nil {
				return config.Errorf(ps.BindPos, "peers '%s': bind: %v", ps.Name, err)
			}
		}
		for _, p := range b.cfg.Proxies {
			if st := p.StickTable; st != nil && st.Peers == ps.Name {
				pc.Tables = append(pc.Tables, peers.TableConfig{Table: b.stickTables[p.Name], WireName: p.Name, ExplicitLen: st.KeyLenSet})
				b.g.shared[b.stickTables[p.Name]] = true
			}
		}
		for _, st := range ps.Tables {
			// On the wire a peers section's table is "/<name>" (HAProxy's nid).
			wire := st.Name[strings.IndexByte(st.Name, '/'):]
			pc.Tables = append(pc.Tables, peers.TableConfig{Table: b.stickTables[st.Name], WireName: wire, ExplicitLen: st.KeyLenSet})
			b.g.shared[b.stickTables[st.Name]] = true
		}
		if sys := b.sys; sys != nil {
			pc.Logf = func(f string, a ...any) { sys.Printf(logging.LevelWarning, f, a...) }
			pc.Debugf = func(f string, a ...any) { sys.Printf(logging.LevelDebug, f, a...) }
		}
		s, err := peers.New(pc)
		if err != nil {
			return config.Errorf(ps.Pos, "%v", err)
		}
		b.g.peers = append(b.g.peers, s)
		g, sys := b.g, b.sys
		b.g.starters = append(b.g.starters, func() {
			ln := g.peerListeners[s]
			if ln == nil && s.BindAddr() != "" {
				// As a frontend's: SO_REUSEPORT, so that a process started
				// with -sf binds beside the one it replaces.
				var err error
				if ln, err = listen(context.Background(), s.BindAddr(), SockOpts{}); err != nil {
					if sysOK(sys) {
						sys.Printf(logging.LevelAlert, "peers section '%s': cannot bind %s: %v", s.Name(), s.BindAddr(), err)
					}
				}
			}
			if ln != nil {
				s.Listen(ln)
			}
			s.Start()
		})
		b.g.retirers = append(b.g.retirers, s.Stop)
		b.g.stoppers = append(b.g.stoppers, s.Stop)
	}
	return nil
}

func sysOK(l *logging.Logger) bool { return l != nil }

// inheritPeers carries shared tables across a reload: Gatehouse reloads
// in process, so a table shared with peers keeps its entries (HAProxy's
// old process teaches the new one over the local peer; here they are
// copied) and the new sections ask no peer for a lesson. A section on
// the same address takes over the listening socket. conn_cur is not
// copied: the connections it counts finish on the old graph.
func inheritPeers(g, old *Graph) {
	if old == nil || len(g.peers) == 0 {
		return
	}
	carried := map[*stick.Table]bool{}
	for _, t := range g.StickTables {
		if !g.shared[t] {
			continue
		}
		for _, o := range old.StickTables {
			if o.Name() == t.Name() && old.shared[o] && sameTable(o.Config(), t.Config()) {
				copyTable(t, o)
				carried[t] = true
			}
		}
	}
	for _, s := range g.peers {
		// A table new or changed by the reload starts empty: the section
		// then asks its peers for a lesson, as a starting process does.
		synced := true
		for _, t := range s.Tables() {
			synced = synced && carried[t]
		}
		for _, o := range old.peers {
			if o.Name() != s.Name() {
				continue
			}
			if synced {
				s.MarkSynced()
			}
			if o.BindAddr() != "" && o.BindAddr() == s.BindAddr() {
				if g.peerListeners == nil {
					g.peerListeners = map[*peers.Section]net.Listener{}
				}
				g.peerListeners[s] = o.TakeListener()
			}
		}
	}
}

func sameTable(a, b stick.Config) bool {
	if a.Type != b.Type || a.KeyLen != b.KeyLen || len(a.Store) != len(b.Store) {
		return false
	}
	for i := range a.Store {
		if a.Store[i] != b.Store[i] {
			return false
		}
	}
	return true
}

func copyTable(dst, src *stick.Table) {
	for _, k := range src.Keys() {
		var vals []stick.PeerValue
		exp, ok := src.ReadPeer(k, func(d stick.DataType, w []uint64) {
			if d != stick.ConnCur {
				vals = append(vals, stick.PeerValue{Type: d, Words: append([]uint64(nil), w...)})
			}
		})
		if ok {
			if dst.Config().Expire > 0 && src.Config().Expire == 0 {
				exp = dst.Config().Expire.Milliseconds()
			}
			dst.WritePeer(k, exp, vals)
		}
	}
}

// ShowPeers is the runtime API's "show peers [<section>]".
func (t *graphTarget) ShowPeers(w io.Writer, section string) error {
	g := t.ops.g
	found := section == ""
	first := true
	// HAProxy lists the sections last declared first.
	for i := len(g.peers) - 1; i >= 0; i-- {
		s := g.peers[i]
		if section != "" && s.Name() != section {
			continue
		}
		if !first {
			io.WriteString(w, "\n")
		}
		first, found = false, true
		s.Show(w)
	}
	if !found {
		return fmt.Errorf("No such peers\n")
	}
	return nil
}
