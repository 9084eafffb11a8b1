package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func statsKeywords() []keyword {
	return []keyword{
		{name: "stats", where: wProxy, syntax: "stats <keyword> [<args>]",
			desc: "The statistics page of this proxy; see the 'stats' keywords.",
			sub:  statsTable, subUnimpl: []string{"bind-process"}},
	}
}

func statsTable() []keyword {
	return []keyword{
		{name: "enable", where: wProxy, syntax: "stats enable", desc: "Serve the statistics page.", parse: statsFlag(func(s *config.Stats) { s.Enable = true })},
		{name: "uri", where: wProxy, syntax: "stats uri <prefix>", desc: "Path prefix of the statistics page (default /haproxy?stats).", parse: parseStatsURI},
		{name: "refresh", where: wProxy, syntax: "stats refresh <time>", desc: "Refresh interval of the page.", parse: parseStatsRefresh},
		{name: "realm", where: wProxy, syntax: "stats realm <realm>", desc: "HTTP Basic authentication realm.", parse: parseStatsRealm},
		{name: "auth", where: wProxy, syntax: "stats auth <user>:<password>", desc: "A user allowed to see the page (HTTP Basic).", parse: parseStatsAuth},
		{name: "hide-version", where: wProxy, syntax: "stats hide-version", desc: "Do not show the version on the page.", parse: statsFlag(func(s *config.Stats) { s.HideVersion = true })},
		{name: "admin", where: wProxy, syntax: "stats admin {if|unless} <condition>", desc: "Allow administrative actions from the page when the condition matches.", parse: parseStatsAdmin},
		{name: "show-legends", where: wProxy, syntax: "stats show-legends", desc: "Show details about each proxy and server.", parse: statsFlag(func(s *config.Stats) { s.ShowLegends = true })},
		{name: "show-modules", where: wProxy, syntax: "stats show-modules",
			desc: "Show the stats modules' counters (today: h2) on the page, after the 'Server' columns.", parse: statsFlag(func(s *config.Stats) { s.ShowModules = true })},
		{name: "show-node", where: wProxy, syntax: "stats show-node [<name>]",
			desc: "Show the node name in the page's titles: <name>, else the global 'node' (the host name by default).", parse: parseStatsShowNode},
		{name: "show-desc", where: wProxy, syntax: "stats show-desc [<text>...]",
			desc: "Show a description after the node name: <text>, else the global 'description'.", parse: parseStatsShowDesc},
		{name: "scope", where: wProxy, syntax: "stats scope <proxy>|.",
			desc: "Show only the named proxies (one per line; '.' is this proxy) on the page and in its CSV/JSON.", parse: parseStatsScope},
		{name: "http-request", where: wFE | wBE, syntax: "stats http-request allow|deny|auth [realm <realm>] [{if|unless} <condition>]",
			desc:  "Access rules of the page, evaluated in order: allow serves it, deny answers 403, auth asks for credentials (401). Not with 'stats auth'/'realm'.",
			parse: parseStatsHTTPRequest},
		{name: "socket", where: 0, syntax: "stats socket <path> (global section only)", desc: "Only valid in the 'global' section.",
			parse: func(p *parser, args []token) error {
				return fmt.Errorf("'stats socket' is only allowed in the 'global' section.")
			}},
	}
}

// stats returns the proxy's stats settings, creating them (stats enabled,
// as every "stats" keyword implies in HAProxy) on first use.
func stats(p *parser) *config.Stats {
	if p.ps.px.Stats == nil {
		p.ps.px.Stats = &config.Stats{Pos: p.pos(), URI: "/haproxy?stats"}
	}
	p.ps.px.Stats.Enable = true
	return p.ps.px.Stats
}

func statsFlag(set func(*config.Stats)) kwParser {
	return func(p *parser, args []token) error {
		if len(args) > 2 {
			return fmt.Errorf("'stats %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
		}
		set(stats(p))
		return nil
	}
}

func parseStatsURI(p *parser, args []token) error {
	if len(args) != 3 || args[2].Text == "" {
		return fmt.Errorf("'uri' needs an URI prefix.")
	}
	if !strings.HasPrefix(args[2].Text, "/") {
		return fmt.Errorf("'stats uri' expects a path starting with '/', got '%s'.", args[2].Text)
	}
	stats(p).URI = args[2].Text
	return nil
}

func parseStatsRefresh(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'refresh' needs a delay in seconds.")
	}
	d, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'stats refresh': %v", err)
	}
	stats(p).Refresh = d
	return nil
}

func parseStatsRealm(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'realm' needs an realm name.")
	}
	stats(p).Realm = args[2].Text
	return nil
}

func parseStatsAuth(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'auth' needs a user:password account.")
	}
	user, pass, ok := strings.Cut(args[2].Text, ":")
	if !ok || user == "" {
		return fmt.Errorf("'auth' needs a user:password account.")
	}
	s := stats(p)
	s.Auth = append(s.Auth, config.UserPass{User: user, Pass: pass})
	return nil
}

func parseStatsAdmin(p *parser, args []token) error {
	if p.ps.isDefaults {
		return fmt.Errorf("'stats admin' not allowed in 'defaults' section.")
	}
	if len(args) < 4 {
		return fmt.Errorf("'stats admin' requires either 'if' or 'unless' followed by a condition.")
	}
	c, err := parseCond(p, args, 2)
	if err != nil {
		return err
	}
	stats(p).Admin = c
	return nil
}

func parseStatsShowNode(p *parser, args []token) error {
	if len(args) > 3 {
		return fmt.Errorf("'stats show-node' cannot handle unexpected argument '%s'.", args[3].Text)
	}
	name := ""
	if len(args) == 3 {
		name = args[2].Text
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') || c > 127 {
				return fmt.Errorf("'stats show-node' invalid node name - should be a stringwith digits(0-9), letters(A-Z, a-z), hyphen(-) or underscode(_).")
			}
		}
		if name == "" {
			return fmt.Errorf("'stats show-node' invalid node name - should be a stringwith digits(0-9), letters(A-Z, a-z), hyphen(-) or underscode(_).")
		}
	}
	s := stats(p)
	s.ShowNode, s.Node = true, name
	return nil
}

func parseStatsShowDesc(p *parser, args []token) error {
	desc := strings.Join(texts(args[2:]), " ")
	if desc == "" && p.cfg.Global.Process.Description == "" {
		// HAProxy ignores the line (the description is read from global
		// when the line is parsed, so global must come first).
		return warning("'show-desc' requires a parameter or 'desc' to be set in the global section.")
	}
	s := stats(p)
	s.ShowDesc, s.Desc = true, desc
	return nil
}

func parseStatsScope(p *parser, args []token) error {
	if len(args) < 3 || args[2].Text == "" {
		return fmt.Errorf("'scope' needs a proxy name.")
	}
	if len(args) > 3 {
		return fmt.Errorf("'stats scope' cannot handle unexpected argument '%s'.", args[3].Text)
	}
	s := stats(p)
	for _, sc := range s.Scope {
		if sc == args[2].Text {
			return nil
		}
	}
	s.Scope = append(s.Scope, args[2].Text)
	return nil
}

func parseStatsHTTPRequest(p *parser, args []token) error {
	if p.ps.isDefaults {
		return fmt.Errorf("'stats' not allowed in 'defaults' section.")
	}
	if len(args) < 3 {
		return fmt.Errorf("'stats http-request' expects 'allow', 'deny' or 'auth'.")
	}
	r := config.StatsRule{Pos: p.pos(), Action: args[2].Text}
	i := 3
	switch r.Action {
	case "allow", "deny":
	case "auth":
		if i < len(args) && args[i].Text == "realm" {
			if i+1 >= len(args) {
				return fmt.Errorf("'stats http-request auth' : missing realm value.")
			}
			r.Realm = args[i+1].Text
			i += 2
		}
	default:
		return fmt.Errorf("'stats http-request' only supports 'allow', 'deny' and 'auth' (got '%s').", r.Action)
	}
	if i < len(args) {
		c, err := parseCond(p, args, i)
		if err != nil {
			return err
		}
		r.Cond = c
	}
	s := stats(p)
	if n := len(s.Rules); n > 0 && s.Rules[n-1].Cond == nil {
		p.warnf("previous 'stats' action has no condition attached, further entries are NOOP.")
	}
	s.Rules = append(s.Rules, r)
	return nil
}
