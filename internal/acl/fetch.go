package acl

import "github.com/gatehouse/gatehouse/internal/userlist"

// fetchFn returns the value at cursor c and the cursor of the next value.
// Single-valued fetches ignore c.
type fetchFn func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres)

// fetchArgs are a fetch's compiled arguments, by position.
type fetchArgs struct {
	str [5]string // set-var(<var>,<cond>...) has five
	num [3]int64
	vr  *VarName // the parsed variable argument (var, set-var, concat, add, ...)
	n   int      // number of arguments given
	// occ selects one occurrence of a multi-valued fetch: 0 every one (ACLs),
	// 1 the first, -1 the last, as HAProxy's <occ>.
	occ int
	ul  *userlist.List // the userlist argument, resolved by bind
}

// fetchDef describes one sample fetch keyword.
type fetchDef struct {
	name string
	// args: one letter per argument: s string, i integer; upper case when
	// optional (optional arguments come last).
	args   string
	out    smpType
	need   Need
	match  matchKind // default ACL match; mNone: by output type
	multi  bool      // ACLs try every value
	occArg int       // position of the <occ> argument, 0 when none (it is never first)
	strOcc int       // occurrence used in string context when none is given
	join   bool      // string context joins every value with ','
	fn     fetchFn
	check  func(a *fetchArgs) error // validates arguments beyond their types
	// bind resolves arguments that name configuration objects (userlists)
	// once the expression is compiled in an Env.
	bind func(a *fetchArgs, env *Env) error
	doc  string
}

// fetchTable lists every sample fetch. A function, not a package variable:
// the tables are data, rebuilt on demand, never mutated.
func fetchTable() []fetchDef {
	var t []fetchDef
	t = append(t, httpFetches()...)
	t = append(t, hdrsFetches()...)
	t = append(t, compFetches()...)
	t = append(t, connFetches()...)
	t = append(t, sslFetches()...)
	t = append(t, sslHelloFetches()...)
	t = append(t, sslKeyLogFetches()...)
	t = append(t, l4Fetches()...)
	t = append(t, resFetches()...)
	t = append(t, rdpFetches()...)
	t = append(t, proxyFetches()...)
	t = append(t, stickFetches()...)
	t = append(t, urlFetches()...)
	t = append(t, stateFetches()...)
	t = append(t, cookFetches()...)
	t = append(t, varFetches()...)
	t = append(t, internalFetches()...)
	t = append(t, authFetches()...)
	t = append(t, captureFetches()...)
	t = append(t, bodyFetches()...)
	t = append(t, streamFetches()...)
	for _, name := range volatileRequestFetches() {
		if f := findFetch(t, name); f != nil {
			f.need |= NeedReqVolatile
		}
	}
	return t
}

func findFetch(tab []fetchDef, name string) *fetchDef {
	for i := range tab {
		if tab[i].name == name {
			return &tab[i]
		}
	}
	return nil
}

// Keyword documents one fetch or converter for the keyword reference.
type Keyword struct {
	Name string
	Args string // e.g. "<name>[,<occ>]"
	Type string // output type
	Doc  string
}

// FetchKeywords returns the sample fetches Gatehouse knows, in table order.
func FetchKeywords() []Keyword {
	var out []Keyword
	for _, f := range fetchTable() {
		out = append(out, Keyword{Name: f.name, Args: f.args, Type: f.out.String(), Doc: f.doc})
	}
	return out
}
