package acl

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/maps"
)

// compileEnv is what compiling needs besides the text: the configuration's
// pattern files, shared by every expression and ACL naming the same file,
// and where the text comes from (shown by show map / show acl).
type compileEnv struct {
	maps *maps.Registry
	pos  config.Pos
}

func (env *compileEnv) registry() *maps.Registry {
	if env == nil || env.maps == nil {
		// compiled alone (a test, a helper): its files are its own
		return maps.NewRegistry()
	}
	return env.maps
}

func (env *compileEnv) where() config.Pos {
	if env == nil {
		return config.Pos{}
	}
	return env.pos
}

// loadIndex returns the shared index of file for one matching method: a
// map converter's (isMap: entries have values of type out) or an ACL's.
// user is how show map|acl describes the use: "map" for converters and
// ACLs with -M, as HAProxy's PAT_REF_MAP.
func (env *compileEnv) loadIndex(file string, twoCol bool, user string, isMap bool, kind matchKind, icase bool, out smpType) (*patIndex, error) {
	pos := env.where()
	ref, err := env.registry().Load(file, twoCol, user, pos.File, pos.Line)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%d/%t/%d/%t", kind, icase, out, isMap)
	ix, err := ref.Index(key, func() maps.Index { return newPatIndex(ref, kind, icase, out, isMap) })
	if err != nil {
		return nil, err
	}
	return ix.(*patIndex), nil
}

// mapConvDefs lists the map converters of HAProxy 2.6: map_<match> gives a
// string, map_<match>_int an integer, map_<match>_ip an address; "map" is
// map_str. The first argument is the file, the second the default value.
func mapConvDefs() []convDef {
	kinds := []struct {
		name string
		mk   matchKind
		in   string
	}{{"str", mStr, "string"}, {"beg", mBeg, "string"}, {"sub", mSub, "string"}, {"dir", mDir, "string"},
		{"dom", mDom, "string"}, {"end", mEnd, "string"}, {"reg", mReg, "string"}, {"regm", mRegm, "string"},
		{"int", mInt, "integer"}, {"ip", mIP, "address"}}
	doc := func(k string, mk matchKind, out string) string {
		how := map[matchKind]string{mStr: "equal to a key", mBeg: "beginning with a key (the longest)",
			mSub: "containing a key", mDir: "containing a key as slash-delimited words", mDom: "containing a key as dot-delimited words",
			mEnd: "ending with a key", mReg: "matching a key's regex (RE2)", mRegm: "matching a key's regex (RE2), whose groups \\1..\\9 the value may use",
			mInt: "an integer within a key's range", mIP: "an address within a key's network (the longest)"}[mk]
		return fmt.Sprintf("the %s value of the first entry of <file> whose key matches the %s input (%s), else <default>, else no value", out, k, how)
	}
	out := []convDef{{name: "map", args: "sS", out: tStr, op: cMap, mk: mStr, doc: "the same as map_str"}}
	for _, k := range kinds {
		out = append(out, convDef{name: "map_" + k.name, args: "sS", out: tStr, op: cMap, mk: k.mk, doc: doc(k.in, k.mk, "string")})
	}
	for _, k := range kinds {
		if k.mk == mRegm {
			continue
		}
		out = append(out,
			convDef{name: "map_" + k.name + "_int", args: "sI", out: tInt, op: cMap, mk: k.mk, doc: doc(k.in, k.mk, "integer")},
			convDef{name: "map_" + k.name + "_ip", args: "sS", out: tIP, op: cMap, mk: k.mk, doc: doc(k.in, k.mk, "address")})
	}
	return out
}

// mapConv is a compiled map converter.
type mapConv struct {
	ix     *patIndex
	kind   matchKind
	hasDef bool
	def    []byte // the default value's text
}

func compileMapConv(d *convDef, a fetchArgs, env *compileEnv) (*mapConv, error) {
	ix, err := env.loadIndex(a.str[0], true, "map", true, d.mk, false, d.out)
	if err != nil {
		return nil, err
	}
	m := &mapConv{ix: ix, kind: d.mk, hasDef: a.n > 1}
	if m.hasDef {
		switch d.out {
		case tInt:
			m.def = strconv.AppendInt(nil, a.num[1], 10)
		case tIP:
			ip, err := netip.ParseAddr(a.str[1])
			if err != nil {
				return nil, fmt.Errorf("map: cannot parse default ip <%s>.", a.str[1])
			}
			m.def = ip.AppendTo(nil)
		default:
			m.def = []byte(a.str[1])
		}
	}
	return m, nil
}

// apply replaces the input in b[start:] by the matching entry's value (its
// text), the default, or fails.
func (m *mapConv) apply(b []byte, start int) ([]byte, bool) {
	in := view(b[start:])
	var s sample
	switch m.kind {
	case mInt:
		v, ok := castStrInt(in)
		if !ok {
			return b[:start], false
		}
		s = intSmp(v)
	case mIP:
		a, err := netip.ParseAddr(trimLWS(in))
		if err != nil {
			return b[:start], false
		}
		s = ipSmp(a)
	default:
		s = strSmp(in)
	}
	n := len(b)
	m.ix.ref.RLock()
	p, _, b2 := m.ix.find(s, b)
	var val sample
	var re []int
	if p != nil {
		val = p.val
		if m.kind == mRegm {
			re = p.re.FindStringSubmatchIndex(in)
		}
	}
	m.ix.ref.RUnlock()
	b = b2[:n]
	if p == nil {
		if !m.hasDef {
			return b[:start], false
		}
		return append(b[:start], m.def...), true
	}
	if m.kind == mRegm && re != nil {
		b = expandSubst(b, val.s, b[start:n], re)
		return moveDown(b, start, n), true
	}
	b = val.appendTo(b)
	return moveDown(b, start, n), true
}

// castStrInt is HAProxy's string-to-integer cast (c_str2int): an empty
// string has no value; otherwise an optional sign and the leading digits,
// 0 when there are none ("abc" is 0, "10.1.1.1" is 10).
func castStrInt(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	v, ok := parseIntPrefix(s)
	if !ok {
		return 0, true
	}
	return v, true
}
