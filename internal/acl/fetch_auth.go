package acl

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/maps"
	"github.com/gatehouse/gatehouse/internal/userlist"
)

// The HTTP authentication fetches of HAProxy 2.6 (http_fetch.c): they read
// the request's Authorization header (userlist.ParseAuthorization, stricter
// than HAProxy's get_http_auth: see there), http_auth and http_auth_group
// check its Basic credentials against a userlist.

// Env holds what expressions resolve by name when compiled: the pattern
// files (Maps, nil: a set's own) and the userlists of http_auth(<userlist>)
// and http_auth_group(<userlist>) (nil: none can be named).
type Env struct {
	Maps      *maps.Registry
	Userlists map[string]*userlist.List
}

func authFetches() []fetchDef {
	return []fetchDef{
		{name: "http_auth", args: "s", out: tBool, need: NeedReq, bind: bindUserlist, fn: fetchHTTPAuth,
			doc: "true when the request's Basic credentials are those of a user of the userlist (verdicts are cached); no value without Basic credentials"},
		{name: "http_auth_group", args: "s", out: tStr, need: NeedReq, multi: true, strOcc: 1, bind: bindUserlist, fn: fetchHTTPAuthGroup,
			doc: "in an ACL, matches when the authenticated user of the userlist belongs to one of the groups listed as patterns; elsewhere, the user's name"},
		{name: "http_auth_type", out: tStr, need: NeedReq, fn: fetchHTTPAuthType,
			doc: "the Authorization scheme: \"Basic\" (with well-formed credentials) or \"Bearer\""},
		{name: "http_auth_user", out: tStr, need: NeedReq, fn: fetchHTTPAuthUser, doc: "the user name of Basic credentials"},
		{name: "http_auth_pass", out: tStr, need: NeedReq, fn: fetchHTTPAuthPass, doc: "the password of Basic credentials"},
		{name: "http_auth_bearer", args: "S", out: tStr, need: NeedReq, fn: fetchHTTPAuthBearer,
			doc: "the token of a Bearer Authorization header, or of the named header (empty when that header has no Bearer token)"},
	}
}

func (s *Set) envOrNil() *Env {
	if s == nil {
		return nil
	}
	return s.env
}

func bindUserlist(a *fetchArgs, env *Env) error {
	var ul *userlist.List
	if env != nil {
		ul = env.Userlists[a.str[0]]
	}
	if ul == nil {
		if env == nil || env.Userlists == nil {
			return fmt.Errorf("userlists cannot be used here")
		}
		return fmt.Errorf("unable to find userlist '%s'", a.str[0])
	}
	a.ul = ul
	return nil
}

// basicAuth parses the request's Authorization header into t's scratch
// buffer.
func basicAuth(t *Txn) userlist.Authorization {
	if t.Req == nil {
		return userlist.Authorization{}
	}
	name := "Authorization"
	if t.ProxyAuth {
		name = "Proxy-Authorization" // option http-use-proxy-header
	}
	var auth userlist.Authorization
	auth, t.fbuf = userlist.ParseAuthorizationIn(t.Req.Header, name, t.fbuf[:0])
	return auth
}

func fetchHTTPAuth(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	auth := basicAuth(t)
	if auth.Scheme != userlist.SchemeBasic {
		return sample{}, cursor{}, fNone
	}
	return boolSmp(a.ul.Check(auth.User, auth.Pass) >= 0), cursor{}, fVal
}

// fetchHTTPAuthGroup gives, in an ACL (occ 0), each group of the
// authenticated user in turn (c.j holds the user's index + 1 once
// checked, c.i the next group), which the ACL's patterns then match
// exactly: HAProxy's pat_match_auth. Elsewhere it gives the user's name.
func fetchHTTPAuthGroup(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	user := c.j - 1
	if c.j == 0 {
		auth := basicAuth(t)
		if auth.Scheme != userlist.SchemeBasic {
			return sample{}, cursor{}, fNone
		}
		if user = a.ul.Check(auth.User, auth.Pass); user < 0 {
			return sample{}, cursor{}, fNone
		}
		if a.occ != 0 {
			return strSmp(view(auth.User)), cursor{}, fVal
		}
	}
	groups := a.ul.Groups(user)
	if c.i >= len(groups) {
		return sample{}, cursor{}, fNone
	}
	return strSmp(groups[c.i]), cursor{i: c.i + 1, j: user + 1}, fVal
}

func fetchHTTPAuthType(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	auth := basicAuth(t)
	if auth.Scheme == userlist.SchemeNone {
		return sample{}, cursor{}, fNone
	}
	return strSmp(auth.Scheme.String()), cursor{}, fVal
}

func fetchHTTPAuthUser(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	auth := basicAuth(t)
	if auth.Scheme != userlist.SchemeBasic {
		return sample{}, cursor{}, fNone
	}
	return strSmp(view(auth.User)), cursor{}, fVal
}

func fetchHTTPAuthPass(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	auth := basicAuth(t)
	if auth.Scheme != userlist.SchemeBasic {
		return sample{}, cursor{}, fNone
	}
	return strSmp(view(auth.Pass)), cursor{}, fVal
}

// fetchHTTPAuthBearer reads the Authorization header, or with an argument
// the first header of that name, whose value HAProxy 2.6 returns empty
// (but present) when it is not a Bearer token.
func fetchHTTPAuthBearer(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	if a.n == 0 {
		auth := basicAuth(t)
		if auth.Scheme != userlist.SchemeBearer {
			return sample{}, cursor{}, fNone
		}
		return strSmp(auth.Data), cursor{}, fVal
	}
	v, ok := t.Req.Header.Get(a.str[0])
	if !ok {
		return strSmp(""), cursor{}, fVal
	}
	var auth userlist.Authorization
	auth, t.fbuf = userlist.ParseAuthorizationValue(v, t.fbuf[:0])
	if auth.Scheme != userlist.SchemeBearer {
		return strSmp(""), cursor{}, fVal
	}
	return strSmp(auth.Data), cursor{}, fVal
}

// bind resolves the names an ACL's fetch refers to. http_auth_group in an
// ACL matches group names exactly, as HAProxy's pat_match_auth does; an
// explicit -m (which HAProxy would apply to the user name) or -i is
// refused rather than given another meaning. args is the ACL's line.
func (a *aclTest) bind(env *Env, args []string) error {
	if err := a.expr.bind(env); err != nil {
		return err
	}
	if a.expr.fetch.name == "http_auth_group" && len(a.expr.convs) == 0 {
		explicit := false
		for i := 1; i < len(args) && args[i] != "--" && strings.HasPrefix(args[i], "-"); i++ {
			switch args[i] {
			case "-m":
				explicit = true
				i++
			case "-f", "-u":
				i++ // the option's argument
			}
		}
		if explicit || a.m.kind != mStr || a.m.icase {
			return fmt.Errorf("fetch method 'http_auth_group' matches group names exactly ('-m' and '-i' cannot be used with it)")
		}
	}
	return nil
}

func (e *Expr) bind(env *Env) error {
	if e.fetch.bind == nil {
		return nil
	}
	if err := e.fetch.bind(&e.args, env); err != nil {
		return fmt.Errorf("fetch method '%s' : %v", e.kw, err)
	}
	return nil
}
