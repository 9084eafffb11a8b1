package acl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/maps"
)

// Result is the outcome of a condition, with HAProxy's three states. Miss
// means "not yet": a payload fetch lacks data while tcp-request content
// inspection still runs; the caller waits for more data, or treats Miss as
// Fail once inspection is over. The values make AND and OR plain & and |.
type Result uint8

const (
	Fail Result = 0
	Miss Result = 1
	Pass Result = 3
)

func (r Result) not() Result {
	switch r {
	case Pass:
		return Fail
	case Fail:
		return Pass
	}
	return Miss
}

func (r Result) String() string {
	switch r {
	case Pass:
		return "pass"
	case Miss:
		return "miss"
	}
	return "fail"
}

// aclKeyword is an ACL-only derivative: a fetch with a matching method.
type aclKeyword struct {
	name  string
	fetch string
	match matchKind
}

// aclKeywords lists the ACL derivatives (path_beg = path -m beg, ...).
func aclKeywords() []aclKeyword {
	var kws []aclKeyword
	suffixes := []struct {
		sfx string
		m   matchKind
	}{{"_beg", mBeg}, {"_end", mEnd}, {"_sub", mSub}, {"_reg", mReg}, {"_dir", mDir}, {"_dom", mDom}, {"_len", mLen}}
	for _, base := range []struct{ pfx, fetch string }{
		{"path", "path"}, {"url", "url"}, {"base", "base"}, {"hdr", "hdr"}, {"shdr", "res.hdr"},
		{"cook", "req.cook"}, {"urlp", "url_param"}, {"req_ssl_sni", "req.ssl_sni"}, {"ssl_fc_sni", "ssl_fc_sni"},
	} {
		for _, s := range suffixes {
			kws = append(kws, aclKeyword{base.pfx + s.sfx, base.fetch, s.m})
		}
	}
	return append(kws,
		aclKeyword{"hdr_val", "hdr", mInt},
		aclKeyword{"hdr_ip", "hdr", mIP},
		aclKeyword{"shdr_val", "res.hdr", mInt},
		aclKeyword{"shdr_ip", "res.hdr", mIP},
		aclKeyword{"urlp_val", "url_param", mInt},
		aclKeyword{"req_rdp_cookie", "req.rdp_cookie", mStr},
		aclKeyword{"req_rdp_cookie_cnt", "req.rdp_cookie_cnt", mInt},
	)
}

// aclTest is one compiled ACL line: a sample expression and its patterns.
type aclTest struct {
	expr  *Expr
	m     matcher
	files []*patIndex // -f: the files' shared patterns
}

// compileACLTest compiles "CRITERION [FLAGS] [PATTERNS]".
func compileACLTest(args []string, kws []aclKeyword) (*aclTest, error) {
	return compileACLTestIn(args, kws, nil)
}

// compileACLTestIn is compileACLTest with the pattern files of env.
func compileACLTestIn(args []string, kws []aclKeyword, env *compileEnv) (*aclTest, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("missing ACL criterion")
	}
	e, err := compileExprIn(args[0], kws, true, env)
	if err != nil {
		return nil, errors.New(within(err, "ACL expression", args[0]))
	}
	kind := mNone
	if len(e.convs) == 0 {
		// a derivative's method, unless converters changed the type (HAProxy)
		for _, k := range kws {
			if k.name == e.kw {
				kind = k.match
			}
		}
		if kind == mNone {
			kind = e.fetch.match
		}
	}
	if kind == mNone {
		kind = defaultMatch(e.out)
	}
	a := &aclTest{expr: e}
	// -f loads a file when it is met, with the flags given so far, as
	// HAProxy does: -i and -M apply to the files after them.
	type fileArg struct {
		name         string
		icase, asMap bool
	}
	var files []fileArg
	asMap := false
	i := 1
flags:
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch args[i] {
		case "-i":
			a.m.icase = true
		case "-M":
			asMap = true
		case "-n":
			// never resolve names (Gatehouse never does)
		case "-u":
			// HAProxy's id for the ACL's inline patterns in the runtime API,
			// which lists only pattern files in Gatehouse: refused rather
			// than taking the id as a pattern.
			if i+1 >= len(args) {
				return nil, fmt.Errorf("missing argument after '-u'")
			}
			return nil, fmt.Errorf("'-u %s' (an id for the runtime API) is not supported: Gatehouse's runtime API changes pattern files only; load the patterns with -f FILE", args[i+1])
		case "-m", "-f":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("missing argument after '%s'", args[i])
			}
			if args[i] == "-f" {
				files = append(files, fileArg{args[i+1], a.m.icase, asMap})
			} else {
				if len(files) > 0 {
					return nil, fmt.Errorf("'-m' must only be specified before patterns and files in parsing ACL expression")
				}
				k, ok := parseMatchKind(args[i+1])
				if !ok {
					return nil, fmt.Errorf("unknown matching method '%s' for '-m'%s", args[i+1], suggestion(args[i+1], matchNames[1:]))
				}
				if (k == mInt || k == mBool) && e.out == tIP || k == mIP && (e.out == tInt || e.out == tBool) {
					return nil, fmt.Errorf("matching method '%s' cannot be used with fetch keyword '%s'", args[i+1], e.kw)
				}
				kind = k
			}
			i++
		case "--":
			i++
			break flags
		default:
			return nil, fmt.Errorf("'%s' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'", args[i])
		}
	}
	if kind == mNone {
		// var(): its type is only known at run time.
		return nil, fmt.Errorf("matching method must be specified first (using '-m') when using a sample fetch of this type ('%s')", e.kw)
	}
	a.m.kind = kind
	if err := a.m.addPatterns(slices.Clone(args[i:]), "eq"); err != nil {
		return nil, err
	}
	for _, f := range files {
		if kind == mFound || kind == mBool {
			return nil, fmt.Errorf("'-m %s' takes no pattern file", kind)
		}
		user := "acl"
		if f.asMap {
			user = "map" // -M: shown by show map too (HAProxy's PAT_REF_MAP)
		}
		ix, err := env.loadIndex(f.name, f.asMap, user, false, kind, f.icase, tStr)
		if err != nil {
			return nil, err
		}
		ix.ref.MarkACL()
		a.files = append(a.files, ix)
	}
	return a, nil
}

// eval tests every value of the fetch (every occurrence of a multi-valued
// one) until one matches.
func (a *aclTest) eval(t *Txn) Result {
	e := a.expr
	switch {
	case t.InTCPResponse && e.need&CtxTCPResponse.absentIn() != 0:
		// Nor has it the request buffer or HTTP in tcp-response rules.
		return Fail
	case e.need&NeedReqVolatile != 0 && t.InResponse:
		// HAProxy no longer has the request here: the fetch fails.
		return Fail
	case e.need&NeedResp != 0 && t.Resp == nil:
		// Nor the response yet: its fetch "may change", the ACL is
		// neither true nor false, so neither it nor its negation holds.
		return Miss
	}
	may := false
	for c := (cursor{}); ; {
		s, next, r := e.fetch.fn(t, &e.args, c)
		if r&fMay != 0 {
			may = true
		}
		if r&fVal == 0 {
			break
		}
		scratch := t.cbuf[:0]
		v, ok := s, true
		if len(e.convs) > 0 {
			v, ok = e.value(t, s)
			scratch = t.cbuf
		}
		if ok {
			var m bool
			m, t.cbuf = a.m.match(v, scratch)
			if m {
				return Pass
			}
			for _, ix := range a.files {
				ix.ref.RLock()
				p, _, b := ix.find(v, scratch)
				ix.ref.RUnlock()
				t.cbuf = b
				if p != nil {
					return Pass
				}
			}
		}
		if !e.multi {
			break
		}
		c = next
	}
	if may {
		return Miss
	}
	return Fail
}

// aclGroup is a named ACL: every line declaring the name, ORed.
type aclGroup struct {
	name  string
	tests []*aclTest
	need  Need
	err   string // referencing it is an error (unsupported predefined ACL)
}

func (g *aclGroup) add(a *aclTest) {
	g.tests = append(g.tests, a)
	g.need |= a.expr.need
}

func (g *aclGroup) eval(t *Txn) Result {
	res := Fail
	for _, a := range g.tests {
		if res |= a.eval(t); res == Pass {
			break
		}
	}
	return res
}

// Set holds a proxy's named ACLs.
type Set struct {
	named map[string]*aclGroup
	kws   []aclKeyword
	maps  *maps.Registry
	env   *Env // the userlists fetches may name; nil: none
}

func validACLName(name string) error {
	if name == "" {
		return fmt.Errorf("missing ACL name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("ACL name '%s' contains an invalid character ('%c')", name, c)
		}
	}
	return nil
}

// NewSet compiles the named ACLs of a proxy. Several lines with the same
// name are ORed. Predefined ACLs (TRUE, METH_GET, ...) are available unless
// a line redefines the name.
func NewSet(decls []*config.ACL) (*Set, error) {
	return NewSetMaps(decls, nil)
}

// NewSetMaps is NewSet with the configuration's pattern files: ACLs loading
// a file with -f share its patterns with every other user of the file (nil:
// the set's own).
func NewSetMaps(decls []*config.ACL, reg *maps.Registry) (*Set, error) {
	return NewSetEnv(decls, &Env{Maps: reg})
}

// NewSetEnv is NewSetMaps with the userlists the ACLs and the conditions
// compiled by the set may name (http_auth).
func NewSetEnv(decls []*config.ACL, env *Env) (*Set, error) {
	var reg *maps.Registry
	if env != nil {
		reg = env.Maps
	}
	if reg == nil {
		reg = maps.NewRegistry()
	}
	s := &Set{named: make(map[string]*aclGroup), kws: aclKeywords(), maps: reg, env: env}
	for _, d := range decls {
		if err := validACLName(d.Name); err != nil {
			return nil, config.Errorf(d.Pos, "%v", err)
		}
		a, err := compileACLTestIn(d.Args, s.kws, &compileEnv{maps: reg, pos: d.Pos})
		if err == nil {
			err = a.bind(env, d.Args)
		}
		if err != nil {
			return nil, config.Errorf(d.Pos, "error detected while parsing ACL '%s' : %v", d.Name, err)
		}
		reg.ReserveID()
		g := s.named[d.Name]
		if g == nil {
			g = &aclGroup{name: d.Name}
			s.named[d.Name] = g
		}
		g.add(a)
	}
	return s, nil
}

// predefined returns the predefined ACLs as ACL lines, HAProxy's list.
func predefined() []struct {
	name string
	args []string
} {
	return []struct {
		name string
		args []string
	}{
		{"FALSE", []string{"always_false"}},
		{"HTTP", []string{"req.proto_http"}},
		{"HTTP_1.0", []string{"req.ver", "1.0"}},
		{"HTTP_1.1", []string{"req.ver", "1.1"}},
		{"HTTP_2.0", []string{"req.ver", "2.0"}},
		{"HTTP_CONTENT", []string{"hdr_val(content-length)", "gt", "0"}},
		{"HTTP_URL_ABS", []string{"url_reg", "^[^/:]*://"}},
		{"HTTP_URL_SLASH", []string{"url_beg", "/"}},
		{"HTTP_URL_STAR", []string{"url", "*"}},
		{"LOCALHOST", []string{"src", "127.0.0.1/8", "::1"}},
		{"METH_CONNECT", []string{"method", "CONNECT"}},
		{"METH_DELETE", []string{"method", "DELETE"}},
		{"METH_GET", []string{"method", "GET", "HEAD"}},
		{"METH_HEAD", []string{"method", "HEAD"}},
		{"METH_OPTIONS", []string{"method", "OPTIONS"}},
		{"METH_POST", []string{"method", "POST"}},
		{"METH_PUT", []string{"method", "PUT"}},
		{"METH_TRACE", []string{"method", "TRACE"}},
		{"RDP_COOKIE", []string{"req.rdp_cookie_cnt", "gt", "0"}},
		{"REQ_CONTENT", []string{"req.len", "gt", "0"}},
		{"TRUE", []string{"always_true"}},
		{"WAIT_END", []string{"wait_end"}},
	}
}

// lookup finds a named ACL, then a predefined one (compiled on use).
func (s *Set) lookup(name string) (*aclGroup, error) {
	if s != nil {
		if g := s.named[name]; g != nil {
			return g, nil
		}
	}
	for _, p := range predefined() {
		if p.name != name {
			continue
		}
		if p.args == nil {
			return nil, fmt.Errorf("predefined ACL '%s' is not supported by Gatehouse", name)
		}
		a, err := compileACLTest(p.args, aclKeywords())
		if err != nil {
			return nil, fmt.Errorf("predefined ACL '%s' : %v", name, err)
		}
		g := &aclGroup{name: name}
		g.add(a)
		return g, nil
	}
	var names []string
	if s != nil {
		for n := range s.named {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	for _, p := range predefined() {
		names = append(names, p.name)
	}
	return nil, fmt.Errorf("no such ACL : '%s'%s", name, suggestion(name, names))
}

// Maps returns the pattern files the set's ACLs and conditions use.
func (s *Set) Maps() *maps.Registry {
	if s == nil {
		return nil
	}
	return s.maps
}

// Names returns the names of the ACLs declared in the set, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.named))
	for n := range s.named {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
