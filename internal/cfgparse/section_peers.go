package cfgparse

import (
	"fmt"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "peers" section (HAProxy's configuration.txt 3.5), read as 2.6's
// cfg_parse_peers reads it: the processes sharing stick tables over the
// peers protocol. Which peer is this process is known once the whole
// configuration is read (-L, 'localpeer' or the host name).

func peersSection() sectionDef {
	return sectionDef{name: "peers", kind: secIdentity, syntax: "peers <name>", open: openPeers,
		kws: peersKeywords(), ownTable: true, unimpl: []string{"log"},
		desc: "Processes (Gatehouse or HAProxy) sharing stick tables over HAProxy's peers protocol: each pushes the entries its traffic changes to the others, and a process that starts asks one of them for everything. Tables name it with 'stick-table ... peers <name>', or are declared in it with 'table'."}
}

func openPeers(p *parser, sec *sectionDef, toks []token) {
	p.peers, p.peersBindLine, p.peersPeerLine = nil, false, false
	if len(toks) < 2 || toks[1].Text == "" {
		p.errorf("missing name for peers section.")
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	if len(toks) > 2 {
		p.errorf("'peers' cannot handle unexpected argument '%s'.", toks[2].Text)
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	name := toks[1].Text
	if c, bad := invalidChar(name); bad {
		p.errorf("character '%c' is not permitted in 'peers' name '%s'.", c, name)
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	for _, o := range p.cfg.Peers {
		if o.Name == name {
			p.errorf("peers section '%s' has the same name as another peers section declared at %s.", name, o.Pos)
		}
	}
	p.peers = &config.Peers{Pos: p.pos(), Name: name}
	p.cfg.Peers = append(p.cfg.Peers, p.peers)
}

func peersKeywords() []keyword {
	return []keyword{
		{name: "peer", syntax: "peer <name> <ip>:<port> [<tls parameter>]...",
			desc:  "A peer: where to connect to it; when <name> is the local peer name (-L, 'localpeer', or the host name), where this process listens instead. Not mixed with 'bind'.",
			parse: parsePeerLine},
		{name: "server", syntax: "server <name> [<ip>:<port>] [<tls parameter>]...",
			desc:  "A peer, as 'peer' in the 'bind' form of the section: the local peer's line has no address (its 'bind' line has it).",
			parse: parsePeerLine},
		{name: "bind", syntax: "bind <ip>:<port> [<tls parameter>]...",
			desc:  "Where the local peer listens (one per section; not mixed with 'peer' lines).",
			parse: parsePeersBind},
		{name: "default-bind", syntax: "default-bind [ssl] [crt <file>] [ca-file <file>] [verify none|optional|required] [<tls parameter>]...",
			desc:  "TLS parameters of the local peer's listener (as on a 'bind' line, with or without one); other bind parameters mean nothing for peers and are refused.",
			parse: parsePeersDefaultBind},
		{name: "default-server", syntax: "default-server [ssl] [verify none|required] [ca-file <file>] [crt <file>] [<tls parameter>]...",
			desc:  "TLS parameters of the connections to the peers (as on a 'server' line); other server parameters mean nothing for peers and are refused.",
			parse: parsePeersDefaultServer},
		{name: "table", syntax: "table <name> type {ip|ipv6|integer|string [len <n>]|binary [len <n>]} size <n> [expire <time>] [nopurge] [store <data>[,<data>]...]",
			desc:  "A stick table of the section, shared with its peers, named '<section>/<name>' where it is referenced (track-sc ... table, the runtime API) and '/<name>' on the wire.",
			parse: parsePeersTable},
		{name: "disabled", syntax: "disabled",
			desc: "Disable the section: nothing is listened to, connected or shared.", parse: func(p *parser, args []token) error {
				if p.peers != nil {
					p.peers.Disabled = true
				}
				return nil
			}},
		{name: "enabled", syntax: "enabled",
			desc: "Enable the section again after 'disabled'.", parse: func(p *parser, args []token) error {
				if p.peers != nil {
					p.peers.Disabled = false
				}
				return nil
			}},
	}
}

// Peers connect over TCP, with TLS when asked: of the bind and server
// parameters, those of TLS apply; the others (checks, weights, PROXY
// protocol, socket options) mean nothing for a peer and are refused by
// name rather than ignored.
func peerBindOptionOK(name string) bool {
	switch name {
	case "ssl", "crt", "crt-list", "ca-file", "ca-verify-file", "no-ca-names", "verify":
		return true
	}
	for _, o := range bindTLSOptions() {
		if o.name == name {
			return true
		}
	}
	return false
}

func peerServerOptionOK(name string) bool {
	switch name {
	case "ssl", "no-ssl", "verify", "verifyhost", "ca-file", "crt":
		return true
	}
	for _, o := range serverTLSOptions() {
		if o.name == name {
			return true
		}
	}
	return false
}

// peerOptionsChecked refuses the parameters ok does not allow; hasArg
// tells which take an argument (skipped).
func peerOptionsChecked(kw string, opts []token, ok func(string) bool, hasArg func(string) bool) error {
	for i := 0; i < len(opts); i++ {
		name := opts[i].Text
		if !ok(name) {
			return fmt.Errorf("'%s': parameter '%s' is not supported for peers by Gatehouse (only TLS parameters: ssl, crt, ca-file, verify, versions and ciphers).", kw, name)
		}
		if hasArg(name) {
			i++
		}
	}
	return nil
}

func bindHasArg(name string) bool {
	for _, o := range bindOptions() {
		if o.name == name {
			return o.hasArg
		}
	}
	return false
}

func serverHasArg(name string) bool {
	for _, o := range serverOptions() {
		if o.name == name {
			return o.hasArg
		}
	}
	return false
}

// peersBindConf applies default-bind and bind parameters to the
// section's one bind configuration.
func (p *parser) peersBindConf(kw, addr string, opts []token) error {
	ps := p.peers
	if err := peerOptionsChecked(kw, opts, peerBindOptionOK, bindHasArg); err != nil {
		return err
	}
	if ps.BindConf == nil {
		ps.BindConf = &config.Bind{Pos: p.pos()}
	}
	b := ps.BindConf
	if err := p.applyBindOptions(b, opts, addr); err != nil {
		return err
	}
	if b.SSL {
		b.TLS.Inherit(p.cfg.Global.TLS.DefaultBind)
	}
	return nil
}

func parsePeersDefaultBind(p *parser, args []token) error {
	if p.peers == nil {
		return nil
	}
	return p.peersBindConf("default-bind", "default-bind", args[1:])
}

func parsePeersDefaultServer(p *parser, args []token) error {
	if p.peers == nil {
		return nil
	}
	if err := peerOptionsChecked("default-server", args[1:], peerServerOptionOK, serverHasArg); err != nil {
		return err
	}
	s := cloneServer(p.peers.DefaultServer)
	if err := applyServerOptions(&s, args[1:], "default-server"); err != nil {
		return err
	}
	p.peers.DefaultServer = s
	return nil
}

func (p *parser) peersAddr(kw, s string) (string, error) {
	s = envExpand(s, p.opt.LookupEnv)
	hp, err := splitHostPort(s, true)
	if err != nil {
		return "", fmt.Errorf("'%s' : %v", kw, err)
	}
	host := hp.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%d", host, hp.Port), nil
}

func parsePeersBind(p *parser, args []token) error {
	ps := p.peers
	if ps == nil {
		return nil
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
	}
	if p.peersPeerLine {
		return fmt.Errorf("mixing \"peer\" and \"bind\" line is forbidden")
	}
	if ps.Bind != "" {
		return fmt.Errorf("One listener per \"peers\" section is authorized but another is already configured at [%s].", ps.BindPos)
	}
	if strings.Contains(args[1].Text, ",") {
		return fmt.Errorf("'bind %s' : one address per peers listener.", args[1].Text)
	}
	addr, err := p.peersAddr("bind "+args[1].Text, args[1].Text)
	if err != nil {
		return err
	}
	if err := p.peersBindConf("bind "+args[1].Text, args[1].Text, args[2:]); err != nil {
		return err
	}
	ps.Bind, ps.BindPos = addr, p.pos()
	p.peersBindLine = true
	return nil
}

func parsePeerLine(p *parser, args []token) error {
	ps := p.peers
	if ps == nil {
		return nil
	}
	kw := args[0].Text
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' : missing name for %s.", kw, kw)
	}
	name := args[1].Text
	if c, bad := invalidChar(name); bad {
		return fmt.Errorf("character '%c' is not permitted in %s name '%s'.", c, kw, name)
	}
	if kw == "peer" && p.peersBindLine {
		return fmt.Errorf("mixing \"peer\" and \"bind\" line is forbidden")
	}
	for _, o := range ps.Peers {
		if o.Name == name {
			return fmt.Errorf("'%s %s' : peer name already declared at %s.", kw, name, o.Pos)
		}
	}
	pe := &config.Peer{Pos: p.pos(), Name: name}
	rest := args[2:]
	// A "server" line may omit the address (the local peer, whose
	// address is on the bind line); a "peer" line may not.
	if len(rest) > 0 && (kw == "peer" || looksLikeAddr(rest[0].Text)) {
		addr, err := p.peersAddr(kw+" "+name, rest[0].Text)
		if err != nil {
			return err
		}
		pe.Addr = addr
		rest = rest[1:]
	} else if kw == "peer" {
		return fmt.Errorf("'peer %s' : missing address.", name)
	}
	if err := peerOptionsChecked(kw+" "+name, rest, peerServerOptionOK, serverHasArg); err != nil {
		return err
	}
	srv := cloneServer(ps.DefaultServer)
	if err := applyServerOptions(&srv, rest, kw+" "+name); err != nil {
		return err
	}
	if srv.CAFile != "" {
		srv.CAFile = p.filePath(p.cfg.Global.CABase, srv.CAFile)
	}
	if srv.Crt != "" {
		srv.Crt = p.filePath(p.cfg.Global.CrtBase, srv.Crt)
	}
	if srv.SSL {
		srv.TLS.Inherit(p.cfg.Global.TLS.DefaultServer)
	}
	srv.Pos, srv.Name = p.pos(), name
	if pe.Addr != "" {
		// The certificate of a verified peer must name its host.
		hp, _ := splitHostPort(pe.Addr, true)
		srv.Host, srv.Port = hp.Host, hp.Port
	}
	pe.Server = &srv
	if p.peerKinds == nil {
		p.peerKinds = map[*config.Peer]bool{}
	}
	p.peerKinds[pe] = kw == "peer"
	p.peersPeerLine = p.peersPeerLine || kw == "peer"
	ps.Peers = append(ps.Peers, pe)
	return nil
}

// looksLikeAddr tells a server line's address from its first parameter.
func looksLikeAddr(s string) bool {
	return strings.Contains(s, ":") || strings.Contains(s, "$")
}

func parsePeersTable(p *parser, args []token) error {
	ps := p.peers
	if ps == nil {
		return nil
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("table: ID not provided.")
	}
	name := ps.Name + "/" + args[1].Text
	for _, o := range p.cfg.Peers {
		for _, t := range o.Tables {
			if t.Name == name {
				return fmt.Errorf("stick-table name '%s' conflicts with table declared in peers '%s' at %s.", args[1].Text, o.Name, t.Pos)
			}
		}
	}
	st, err := parseStickTableWords(p, "table", texts(args[2:]), true)
	if err != nil {
		return err
	}
	st.Name, st.Peers = name, ps.Name
	ps.Tables = append(ps.Tables, st)
	return nil
}

// parseLocalPeer is the global 'localpeer <name>'.
func parseLocalPeer(p *parser, args []token) error {
	if len(args) != 2 || args[1].Text == "" {
		return fmt.Errorf("'localpeer' expects a name as argument.")
	}
	if p.opt.LocalPeer != "" {
		return warning("'localpeer' ignored: the local peer name was set on the command line (-L %s).", p.opt.LocalPeer)
	}
	if len(p.cfg.Peers) > 0 {
		return warning("'localpeer' ignored: it must come before the 'peers' sections.")
	}
	p.cfg.LocalPeer = args[1].Text
	return nil
}

// finishPeers settles the local peer name and checks the references of
// the sections: tables name existing sections; a section without the
// local peer is dropped with HAProxy's warning, and its tables are then
// not shared.
func (p *parser) finishPeers() {
	switch {
	case p.opt.LocalPeer != "":
		p.cfg.LocalPeer = p.opt.LocalPeer
	case p.cfg.LocalPeer == "" && len(p.cfg.Peers) > 0:
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		p.cfg.LocalPeer = h
	}
	var kept []*config.Peers
	for _, ps := range p.cfg.Peers {
		local := false
		for _, pe := range ps.Peers {
			if pe.Name != p.cfg.LocalPeer {
				if pe.Addr == "" {
					p.errs = append(p.errs, config.Errorf(pe.Pos, "'server %s' : missing address (only the local peer's address may be left to 'bind').", pe.Name))
				}
				continue
			}
			local = true
			switch {
			case p.peerKinds[pe] && pe.Addr != "":
				ps.Bind, ps.BindPos = pe.Addr, pe.Pos
			case pe.Addr != "":
				// "server LOCAL addr": HAProxy takes the address as the
				// one to reach the local peer, the bind line listens.
			}
		}
		if !local && !ps.Disabled {
			// HAProxy's check_config_validity says it of no line.
			p.cfg.Warnings = append(p.cfg.Warnings, config.Diag{Warning: true,
				Msg: fmt.Sprintf("Removing incomplete section 'peers %s' (no peer named '%s').", ps.Name, p.cfg.LocalPeer)})
			ps.Disabled = true
		}
		kept = append(kept, ps)
	}
	p.cfg.Peers = kept
	check := func(owner string, st *config.StickTable) {
		if st == nil || st.Peers == "" {
			return
		}
		for _, ps := range p.cfg.Peers {
			if ps.Name == st.Peers {
				return
			}
		}
		p.errs = append(p.errs, config.Errorf(st.Pos, "Proxy '%s': unable to find sync peers '%s'.", owner, st.Peers))
	}
	for _, ps := range p.proxies {
		check(ps.px.Name, ps.px.StickTable)
	}
}
