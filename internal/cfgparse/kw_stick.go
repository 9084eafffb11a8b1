package cfgparse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func stickKeywords() []keyword {
	return []keyword{
		{name: "stick-table", where: wFE | wBE,
			syntax: "stick-table type ip|ipv6|integer|string [len <n>]|binary [len <n>] size <n> [expire <time>] [nopurge] [srvkey name|addr] [store <data>[,<data>]...]...",
			desc: "The proxy's stick table: entries keyed by the tracked key, counting connections, requests, errors and rates (over a sliding period), " +
				"bounded by 'size' (the least recently used entries are evicted, unless 'nopurge') and removed after 'expire' without use. " +
				"Data types: " + strings.Join(stickDataImplemented, ", ") + ".",
			parse: parseStickTable},
	}
}

// stickDataImplemented are the data types Gatehouse stores and updates as
// HAProxy 2.6 does: all of HAProxy 2.6's.
var stickDataImplemented = []string{"server_id", "server_key", "gpt0", "gpt(<nb>)", "gpc0", "gpc0_rate(<period>)", "gpc1", "gpc1_rate(<period>)",
	"gpc(<nb>)", "gpc_rate(<nb>,<period>)",
	"conn_cnt", "conn_cur", "conn_rate(<period>)", "sess_cnt", "sess_rate(<period>)", "http_req_cnt", "http_req_rate(<period>)",
	"http_err_cnt", "http_err_rate(<period>)", "http_fail_cnt", "http_fail_rate(<period>)",
	"bytes_in_cnt", "bytes_in_rate(<period>)", "bytes_out_cnt", "bytes_out_rate(<period>)"}

func parseStickTable(p *parser, args []token) error {
	px := p.ps.px
	if px.StickTable != nil {
		return fmt.Errorf("'stick-table': only one stick-table per proxy is allowed (the first is at line %d).", px.StickTable.Pos.Line)
	}
	st, err := parseStickTableWords(p, "stick-table", texts(args[1:]), false)
	if err != nil {
		return err
	}
	px.StickTable = st
	return nil
}

// parseStickTableWords reads a table's arguments: a proxy's stick-table
// line, or a peers section's table line (inPeers: no 'peers' argument).
func parseStickTableWords(p *parser, kw string, w []string, inPeers bool) (*config.StickTable, error) {
	st := &config.StickTable{Pos: p.pos()}
	next := func(i int, what string) (string, error) {
		if i+1 >= len(w) {
			return "", fmt.Errorf("'%s': missing %s after '%s'.", kw, what, w[i])
		}
		return w[i+1], nil
	}
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "type":
			v, err := next(i, "type")
			if err != nil {
				return nil, err
			}
			i++
			switch v {
			case "ip", "ipv6", "integer":
			case "string", "binary":
				st.KeyLen = 32
				if i+1 < len(w) && w[i+1] == "len" {
					l, err := next(i+1, "length")
					if err != nil {
						return nil, err
					}
					n, err := strconv.Atoi(l)
					if err != nil || n <= 0 {
						return nil, fmt.Errorf("'%s': invalid length '%s' for type '%s'.", kw, l, v)
					}
					st.KeyLen = n
					st.KeyLenSet = true
					i += 2
				}
			default:
				return nil, fmt.Errorf("'%s': unknown type '%s' (expected ip, ipv6, integer, string or binary).", kw, v)
			}
			st.Type = v
		case "size":
			v, err := next(i, "size")
			if err != nil {
				return nil, err
			}
			i++
			n, err := parseSize(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("'%s': invalid size '%s'.", kw, v)
			}
			st.Size = n
		case "expire":
			v, err := next(i, "time")
			if err != nil {
				return nil, err
			}
			i++
			d, err := parseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("'%s': expire: %v.", kw, err)
			}
			st.Expire = d
		case "nopurge":
			st.NoPurge = true
		case "peers":
			if inPeers {
				return nil, fmt.Errorf("'%s': unknown argument '%s' (expected type, size, expire, nopurge or store).", kw, w[i])
			}
			v, err := next(i, "argument")
			if err != nil {
				return nil, err
			}
			i++
			st.Peers = v
		case "srvkey":
			v := ""
			if i+1 < len(w) {
				v = w[i+1]
				i++
			}
			k, err := parseSrvKey(v)
			if err != nil {
				return nil, err
			}
			st.SrvKey = k
		case "store":
			v, err := next(i, "data type")
			if err != nil {
				return nil, err
			}
			i++
			for _, d := range splitStoreList(v) {
				s, err := parseStickStore(d)
				if err != nil {
					return nil, err
				}
				for _, o := range st.Store {
					if o.Type == s.Type {
						return nil, fmt.Errorf("'%s': data type '%s' stored twice.", kw, s.Type)
					}
				}
				st.Store = append(st.Store, s)
			}
		default:
			return nil, fmt.Errorf("'%s': unknown argument '%s' (expected type, size, expire, nopurge, srvkey or store).", kw, w[i])
		}
	}
	if st.Type == "" {
		return nil, fmt.Errorf("'%s': missing 'type'.", kw)
	}
	if st.Size == 0 {
		return nil, fmt.Errorf("'%s': missing 'size'.", kw)
	}
	if err := checkStickArrays(st); err != nil {
		return nil, err
	}
	return st, nil
}

// splitStoreList splits "a,b(10s),c" at the commas outside parentheses.
func splitStoreList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseStickStore(d string) (config.StickStore, error) {
	name, arg, hasArg := strings.Cut(d, "(")
	if hasArg {
		if !strings.HasSuffix(arg, ")") {
			return config.StickStore{}, fmt.Errorf("'stick-table': missing ')' in data type '%s'.", d)
		}
		arg = strings.TrimSuffix(arg, ")")
	}
	for _, k := range stickDataImplemented {
		kn, params, _ := strings.Cut(k, "(")
		if kn != name {
			continue
		}
		st := config.StickStore{Type: name}
		array := strings.HasPrefix(params, "<nb>")
		rate := strings.HasSuffix(params, "<period>)")
		if params == "" {
			if hasArg {
				return config.StickStore{}, fmt.Errorf("'stick-table': data type '%s' takes no argument.", name)
			}
			return st, nil
		}
		if !hasArg || arg == "" || (array && rate && !strings.Contains(arg, ",")) {
			if array {
				return config.StickStore{}, fmt.Errorf("'stick-table': missing argument to store option '%s' (e.g. '%s').", name, strings.ReplaceAll(strings.ReplaceAll(k, "<nb>", "2"), "<period>", "10s"))
			}
			return config.StickStore{}, fmt.Errorf("'stick-table': data type '%s' expects a period, e.g. '%s(10s)'.", name, name)
		}
		if array {
			nb := arg
			if rate {
				nb, arg, _ = strings.Cut(arg, ",")
			}
			n, err := strconv.Atoi(nb)
			if err != nil || n < 1 || n > stickMaxArray {
				return config.StickStore{}, fmt.Errorf("'stick-table': array size is out of allowed range (1-%d) for store option '%s'.", stickMaxArray, name)
			}
			st.Count = n
		}
		if rate {
			p, err := parseDuration(arg)
			if err != nil || p <= 0 {
				return config.StickStore{}, fmt.Errorf("'stick-table': invalid period '%s' for data type '%s'.", arg, name)
			}
			st.Period = p
		} else if strings.Contains(arg, ",") {
			return config.StickStore{}, fmt.Errorf("'stick-table': data type '%s' takes one argument, the array size.", name)
		}
		return st, nil
	}
	return config.StickStore{}, fmt.Errorf("'stick-table': unknown data type '%s'.", name)
}

// stickMaxArray is HAProxy's largest gpt, gpc and gpc_rate array.
const stickMaxArray = 100

// checkStickArrays refuses a table storing an array with the legacy
// types it overrides, as HAProxy 2.6.
func checkStickArrays(st *config.StickTable) error {
	has := map[string]bool{}
	for _, s := range st.Store {
		has[s.Type] = true
	}
	for _, c := range [...]struct{ arr, a, b, leg string }{
		{"gpc", "gpc0", "gpc1", "gpc[0/1]"}, {"gpc_rate", "gpc0_rate", "gpc1_rate", "gpc[0/1]_rate"}, {"gpt", "gpt0", "gpt0", "gpt0"},
	} {
		if has[c.arr] && (has[c.a] || has[c.b]) {
			return fmt.Errorf("'stick-table': simultaneous usage of '%s' and '%s' in a same table is not permitted as '%s' overrides '%s'.", c.arr, c.leg, c.arr, c.leg)
		}
	}
	return nil
}

// stickHTTPActions are the http-request/http-response actions of stick tables.
func stickHTTPActions() []httpAction {
	var out []httpAction
	for n := 0; n < 3; n++ {
		out = append(out, httpAction{name: fmt.Sprintf("track-sc%d", n), req: true, resp: true,
			syntax: fmt.Sprintf("track-sc%d <key> [table <table>]", n),
			desc: fmt.Sprintf("Track the entry of <key> (a sample expression) in the proxy's stick table, or <table>'s, with counter %d; "+
				"the first track-sc%d of a stream applies. Counts a connection (conn_cur, conn_cnt, conn_rate) and, in http-request, the request (http_req_cnt, http_req_rate).", n, n),
			parse: trackArgs(n)})
	}
	out = append(out,
		httpAction{name: "sc-inc-gpc0", req: true, resp: true, syntax: "sc-inc-gpc0(<sc-id>)",
			desc: "Increment gpc0 (and gpc0_rate) of the entry tracked by counter <sc-id>; in a table storing the gpc/gpc_rate arrays instead, their first element.", parse: scArgs(false, false)},
		httpAction{name: "sc-inc-gpc1", req: true, resp: true, syntax: "sc-inc-gpc1(<sc-id>)",
			desc: "Increment gpc1 (and gpc1_rate) of the entry tracked by counter <sc-id>; in a table storing the gpc/gpc_rate arrays instead, their second element.", parse: scArgs(false, false)},
		httpAction{name: "sc-set-gpt0", req: true, resp: true, syntax: "sc-set-gpt0(<sc-id>) <int>|<expr>",
			desc: "Set gpt0 (or gpt's first element) of the entry tracked by counter <sc-id> to an integer or the integer value of a sample expression (kept as 32 bits unsigned).", parse: scArgs(true, false)},
		httpAction{name: "sc-inc-gpc", req: true, resp: true, syntax: "sc-inc-gpc(<idx>,<sc-id>)",
			desc: "Increment element <idx> (0 to 99) of the gpc array (and of gpc_rate) of the entry tracked by counter <sc-id>.", parse: scArgs(false, true)},
		httpAction{name: "sc-add-gpc", req: true, resp: true, syntax: "sc-add-gpc(<idx>,<sc-id>) <int>|<expr>",
			desc: "Add an integer or the integer value of a sample expression (as 32 bits unsigned) to element <idx> of the gpc array (and gpc_rate) of the entry tracked by counter <sc-id>; " +
				"the entry is refreshed even when the value is 0. HAProxy 2.7's action (2.6 refuses it).", parse: scArgs(true, true)},
		httpAction{name: "sc-set-gpt", req: true, resp: true, syntax: "sc-set-gpt(<idx>,<sc-id>) <int>|<expr>",
			desc: "Set element <idx> of the gpt array of the entry tracked by counter <sc-id> to an integer or the integer value of a sample expression (kept as 32 bits unsigned).", parse: scArgs(true, true)},
	)
	return out
}

func trackArgs(n int) func(*parser, *config.HTTPAction, []token) error {
	return func(p *parser, a *config.HTTPAction, args []token) error {
		w := texts(args)
		if len(w) == 0 {
			return fmt.Errorf("missing key (a sample expression, e.g. 'src')")
		}
		sa := &config.StickAction{Slot: n, Key: w[0]}
		switch {
		case len(w) == 1:
		case len(w) == 3 && w[1] == "table":
			sa.Table = w[2]
		default:
			return fmt.Errorf("unexpected '%s' after the key (expected 'table <table>')", strings.Join(w[1:], " "))
		}
		a.Stick = sa
		return nil
	}
}

// scArgs reads "sc-inc-gpc0(<sc-id>)" and "sc-set-gpt0(<sc-id>) <value>",
// or with indexed the array forms "sc-inc-gpc(<idx>,<sc-id>)",
// "sc-set-gpt(<idx>,<sc-id>) <value>", "sc-add-gpc(<idx>,<sc-id>) <value>":
// the action's own name carries the element and the counter.
func scArgs(value, indexed bool) func(*parser, *config.HTTPAction, []token) error {
	return func(p *parser, a *config.HTTPAction, args []token) error {
		sa, err := parseSCName(a.Action, indexed)
		if err != nil {
			return err
		}
		w := texts(args)
		if value {
			if len(w) != 1 {
				return fmt.Errorf("expects exactly one value (an integer or a sample expression)")
			}
			sa.Value = w[0]
		} else if len(w) != 0 {
			return fmt.Errorf("unexpected argument '%s'", w[0])
		}
		a.Action, _, _ = strings.Cut(a.Action, "(")
		a.Stick = sa
		return nil
	}
}

// parseSCName reads the parenthesised ids of an sc-* action's name.
func parseSCName(name string, indexed bool) (*config.StickAction, error) {
	base, id, ok := strings.Cut(name, "(")
	want := base + "(<sc-id>)"
	if indexed {
		want = base + "(<idx>,<sc-id>)"
	}
	if !ok || !strings.HasSuffix(id, ")") {
		return nil, fmt.Errorf("expects %s, e.g. '%s'", want, strings.ReplaceAll(strings.ReplaceAll(want, "<idx>", "0"), "<sc-id>", "0"))
	}
	id = strings.TrimSuffix(id, ")")
	sa := &config.StickAction{}
	if indexed {
		idx, sc, ok := strings.Cut(id, ",")
		if !ok {
			return nil, fmt.Errorf("missing the element index: expects %s", want)
		}
		n, err := strconv.Atoi(idx)
		if err != nil || n < 0 || n >= stickMaxArray || strconv.Itoa(n) != idx {
			return nil, fmt.Errorf("invalid element index '%s' (expected 0 to %d)", idx, stickMaxArray-1)
		}
		sa.Idx, id = n, sc
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 || n > 2 || strconv.Itoa(n) != id {
		return nil, fmt.Errorf("invalid stick counter '%s' (expected 0, 1 or 2)", id)
	}
	sa.Slot = n
	return sa, nil
}

// checkStickRefs resolves the tables track-sc rules name, as HAProxy's
// check_trk_action does once every proxy is known.
func (p *parser) checkStickRefs(px *config.Proxy) {
	check := func(kw string, rules []*config.HTTPAction) {
		for _, a := range rules {
			if a.Stick == nil {
				continue
			}
			a.Stick.InResponse = kw == "http-response"
			if !strings.HasPrefix(a.Action, "track-sc") {
				continue
			}
			name := a.Stick.Table
			if name == "" {
				if px.StickTable == nil {
					p.errs = append(p.errs, config.Errorf(a.Pos, "%s '%s': '%s %s' : table '%s' used but not configured.", proxyType(px.Cap), px.Name, kw, a.Action, px.Name))
				}
				continue
			}
			if p.findStickTable(name) == nil && !p.peersTable(name) {
				p.errs = append(p.errs, config.Errorf(a.Pos, "%s '%s': '%s %s' : unable to find table '%s' referenced by %s.", proxyType(px.Cap), px.Name, kw, a.Action, name, a.Action))
			}
		}
	}
	check("http-request", px.HTTPRequest)
	check("http-response", px.HTTPResponse)
	var tcp []*config.HTTPAction
	for _, r := range px.TCPRequest {
		if r.Stick != nil {
			tcp = append(tcp, &config.HTTPAction{Pos: r.Pos, Action: r.Action, Stick: r.Stick})
		}
	}
	check("tcp-request", tcp)
}

// peersTable reports whether a peers section declares the table name
// ("<section>/<table>").
func (p *parser) peersTable(name string) bool {
	for _, ps := range p.cfg.Peers {
		for _, t := range ps.Tables {
			if t.Name == name {
				return true
			}
		}
	}
	return false
}

// findStickTable returns the proxy named name when it has a stick-table.
func (p *parser) findStickTable(name string) *config.Proxy {
	for _, ps := range p.proxies {
		if ps.px.Name == name && ps.px.StickTable != nil {
			return ps.px
		}
	}
	return nil
}
