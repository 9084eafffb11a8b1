package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/maps"
)

// Expr is a compiled sample expression: a fetch with its arguments followed
// by converters, e.g. req.hdr(host),lower,field(1,:).
type Expr struct {
	src   string
	pos   config.Pos
	fetch *fetchDef
	kw    string // the keyword as written (an alias, or an ACL derivative)
	args  fetchArgs
	convs []conv
	out   smpType
	need  Need
	multi bool // evaluate every value (ACL context, no explicit occurrence)
	join  bool // string context joins every value with ','
}

// call is one parsed "name(args)" element of an expression.
type call struct {
	name string
	args []string
	pars bool // had parentheses
}

// parseCalls splits src into the fetch and its converters. Arguments are
// separated by commas; quotes (single: literal, double: with backslash
// escapes) and backslash escapes protect ',' and ')', as in HAProxy.
func parseCalls(src string) ([]call, error) {
	var calls []call
	i := 0
	for {
		start := i
		for i < len(src) && src[i] != '(' && src[i] != ',' && src[i] != ')' {
			i++
		}
		c := call{name: src[start:i]}
		if c.name == "" {
			if len(calls) == 0 {
				return nil, errors.New("missing fetch method")
			}
			return nil, errors.New("missing converter name after ','")
		}
		if i < len(src) && src[i] == '(' {
			c.pars = true
			i++
			var cur strings.Builder
			closed := false
		args:
			for i < len(src) {
				switch ch := src[i]; ch {
				case ')':
					i++
					closed = true
					break args
				case ',':
					c.args = append(c.args, cur.String())
					cur.Reset()
					i++
				case '\\':
					if i+1 < len(src) {
						switch nx := src[i+1]; nx {
						case ',', ')', '(', '\\', '\'', '"', ' ':
							cur.WriteByte(nx)
						default:
							cur.WriteByte('\\')
							cur.WriteByte(nx)
						}
						i += 2
					} else {
						cur.WriteByte('\\')
						i++
					}
				case '\'', '"':
					j := i + 1
					for ; j < len(src) && src[j] != ch; j++ {
						if ch == '"' && src[j] == '\\' && j+1 < len(src) {
							j++
						}
						cur.WriteByte(src[j])
					}
					if j >= len(src) {
						return nil, fmt.Errorf("unterminated quote in arguments to '%s'", c.name)
					}
					i = j + 1
				default:
					cur.WriteByte(ch)
					i++
				}
			}
			if !closed {
				return nil, fmt.Errorf("missing closing ')' after arguments to '%s'", c.name)
			}
			c.args = append(c.args, cur.String())
			if len(c.args) == 1 && c.args[0] == "" {
				c.args = nil
			}
		}
		calls = append(calls, c)
		if i >= len(src) {
			return calls, nil
		}
		if src[i] != ',' {
			return nil, fmt.Errorf("missing comma after '%s'", c.name)
		}
		i++
	}
}

// parseArgs checks args against a spec (see fetchDef.args).
func parseArgs(kind, name, spec string, args []string) (fetchArgs, error) {
	var a fetchArgs
	req := 0
	for _, c := range spec {
		if c == 's' || c == 'i' {
			req++
		}
	}
	if len(args) < req {
		if len(spec) == 0 {
			return a, fmt.Errorf("%s '%s' takes no argument", kind, name)
		}
		return a, fmt.Errorf("missing arguments (got %d/%d) for %s '%s'", len(args), req, kind, name)
	}
	if len(args) > len(spec) {
		if len(spec) == 0 {
			return a, fmt.Errorf("%s '%s' takes no argument", kind, name)
		}
		return a, fmt.Errorf("too many arguments (got %d, at most %d) for %s '%s'", len(args), len(spec), kind, name)
	}
	a.n = len(args)
	for i, v := range args {
		switch spec[i] {
		case 's', 'S':
			a.str[i] = v
		case 'i', 'I':
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return a, fmt.Errorf("expected an integer at position %d in arguments to %s '%s', but got '%s'", i+1, kind, name, v)
			}
			a.num[i] = n
		}
	}
	return a, nil
}

// CompileExpr compiles a sample expression for string contexts (%[expr] in
// log-format and header values, sni, dynamic use_backend names).
func CompileExpr(src string, pos config.Pos) (*Expr, error) {
	return CompileExprMaps(src, pos, nil)
}

// CompileExprMaps is CompileExpr with the configuration's pattern files:
// map converters naming the same file share its entries (nil: their own).
func CompileExprMaps(src string, pos config.Pos, reg *maps.Registry) (*Expr, error) {
	e, err := compileExprIn(src, nil, false, &compileEnv{maps: reg, pos: pos})
	if err == nil {
		err = e.bind(nil)
	}
	if err != nil {
		return nil, config.Errorf(pos, "%s", within(err, "sample expression", src))
	}
	e.pos = pos
	return e, nil
}

// hintError is an error whose did-you-mean hint goes at the very end of the
// message, after the context it is wrapped in.
type hintError struct{ msg, hint string }

func (e *hintError) Error() string { return e.msg + e.hint }

// within says where err happened: "<msg> in <what> '<src>'<hint>".
func within(err error, what, src string) string {
	if h, ok := err.(*hintError); ok {
		return fmt.Sprintf("%s in %s '%s'%s", h.msg, what, src, h.hint)
	}
	return fmt.Sprintf("%v in %s '%s'", err, what, src)
}

// compileExpr compiles src. In ACL context (aclKws non-nil) the fetch may be
// an ACL derivative (path_beg, ...), whose matching method is returned, and
// multi-valued fetches try every value.
func compileExpr(src string, aclKws []aclKeyword, inACL bool) (*Expr, error) {
	return compileExprIn(src, aclKws, inACL, nil)
}

// compileExprIn is compileExpr with the pattern files of env.
func compileExprIn(src string, aclKws []aclKeyword, inACL bool, env *compileEnv) (*Expr, error) {
	calls, err := parseCalls(src)
	if err != nil {
		return nil, err
	}
	tab := fetchTable()
	fc := calls[0]
	e := &Expr{src: src, kw: fc.name}
	e.fetch = findFetch(tab, fc.name)
	if e.fetch == nil && inACL {
		for i := range aclKws {
			if aclKws[i].name == fc.name {
				e.fetch = findFetch(tab, aclKws[i].fetch)
				break
			}
		}
	}
	if e.fetch == nil {
		names := make([]string, 0, len(tab)+len(aclKws))
		for _, f := range tab {
			names = append(names, f.name)
		}
		if inACL {
			for _, k := range aclKws {
				names = append(names, k.name)
			}
		}
		return nil, &hintError{fmt.Sprintf("unknown fetch method '%s'", fc.name), suggestion(fc.name, names)}
	}
	f := e.fetch
	if e.args, err = parseArgs("fetch method", fc.name, f.args, fc.args); err != nil {
		return nil, err
	}
	if f.check != nil {
		if err := f.check(&e.args); err != nil {
			return nil, fmt.Errorf("fetch method '%s' : %v", fc.name, err)
		}
	}
	switch {
	case f.occArg > 0 && e.args.n > f.occArg:
		e.args.occ = int(e.args.num[f.occArg])
	case !inACL:
		e.args.occ = f.strOcc
	}
	e.multi = inACL && f.multi && e.args.occ == 0
	e.join = !inACL && f.join
	e.out, e.need = f.out, f.need

	ctab := convTable()
	for _, cc := range calls[1:] {
		var d *convDef
		for i := range ctab {
			if ctab[i].name == cc.name {
				d = &ctab[i]
			}
		}
		if d == nil {
			names := make([]string, len(ctab))
			for i, c := range ctab {
				names[i] = c.name
			}
			return nil, &hintError{fmt.Sprintf("unknown converter '%s'", cc.name), suggestion(cc.name, names)}
		}
		a, err := parseArgs("converter", cc.name, d.args, cc.args)
		if err != nil {
			return nil, err
		}
		c, err := compileConv(d, a)
		if err == nil && d.op == cMap {
			c.mp, err = compileMapConv(d, a, env)
		}
		if err == nil && d.op > cTableFirst && d.op < cVarFirst && env != nil {
			// A table that does not exist is HAProxy's configuration
			// error, never a lookup that silently finds nothing.
			if has, known := env.maps.HasTable(c.a.str[0]); known && !has {
				err = fmt.Errorf("unable to find table '%s'", c.a.str[0])
			}
		}
		if err != nil {
			return nil, fmt.Errorf("converter '%s' : %v", cc.name, err)
		}
		if c.out == tSame {
			c.out = e.out // set-var, unset-var
		}
		e.convs = append(e.convs, c)
		e.out = c.out
	}
	return e, nil
}

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

// Uses reports what the expression reads.
func (e *Expr) Uses() Need {
	if e == nil {
		return 0
	}
	return e.need
}

// Check reports an error when the expression cannot be evaluated in ctx.
func (e *Expr) Check(ctx Context) error {
	if err := CheckContext(e.need, ctx); err != nil {
		return config.Errorf(e.pos, "fetch method '%s' %v", e.kw, err)
	}
	return nil
}

// AppendString appends the expression's value in string form to dst, as
// HAProxy's string casts do; false (dst unchanged) when there is no value.
// Multi-valued fetches give their last occurrence (hdr, req.hdr, cook),
// their first (url_param), or every value joined with ',' (oidc_claim).
// It does not allocate once dst has room.
func (e *Expr) AppendString(dst []byte, t *Txn) ([]byte, bool) {
	start := len(dst)
	typ := tStr
	if e.join {
		found := false
		for c := (cursor{}); ; {
			s, next, r := e.fetch.fn(t, &e.args, c)
			if r&fVal == 0 {
				break
			}
			if found {
				dst = append(dst, ',')
			}
			dst, found, c = s.appendTo(dst), true, next
		}
		if !found {
			return dst, false
		}
	} else {
		s, _, r := e.fetch.fn(t, &e.args, cursor{})
		if r&fVal == 0 {
			return dst, false
		}
		dst, typ = s.appendTo(dst), s.typ
	}
	for i := range e.convs {
		var ok bool
		if dst, typ, ok = e.convs[i].run(t, typ, dst, start); !ok {
			return dst[:start], false
		}
	}
	return dst, true
}

// value applies the converters to s in t's scratch space and returns the
// result with the converters' output type.
func (e *Expr) value(t *Txn, s sample) (sample, bool) {
	if len(e.convs) == 0 {
		return s, true
	}
	b := s.appendTo(t.cbuf[:0])
	typ := s.typ
	for i := range e.convs {
		var ok bool
		if b, typ, ok = e.convs[i].run(t, typ, b, 0); !ok {
			t.cbuf = b
			return sample{}, false
		}
	}
	t.cbuf = b
	str := view(b)
	switch typ {
	case tInt:
		v, ok := parseIntPrefix(str)
		return intSmp(v), ok
	case tBool:
		v, ok := parseIntPrefix(str)
		return boolSmp(v != 0), ok
	case tIP:
		a, err := netip.ParseAddr(str)
		return ipSmp(a), err == nil
	case tBin:
		return sample{typ: tBin, s: str}, true
	}
	return strSmp(str), true
}
