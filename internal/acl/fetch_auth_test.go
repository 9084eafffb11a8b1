package acl

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/userlist"
)

func authEnv(t *testing.T) *Env {
	t.Helper()
	l, err := userlist.New(&config.Userlist{Name: "L",
		Users: []config.UserlistUser{
			{Name: "alice", Password: "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", Groups: []string{"ops"}}, // Hello world!
			{Name: "bob", Password: "secret", Insecure: true},
		},
		Groups: []config.UserlistGroup{{Name: "admins", Users: []string{"alice"}}, {Name: "ops"}, {Name: "devs", Users: []string{"bob"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Userlists: map[string]*userlist.List{"L": l}}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func authTxn(values ...string) *Txn {
	req := &httpmsg.Request{Method: "GET", URI: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1}
	for _, v := range values {
		req.Header.Add("Authorization", v)
	}
	return &Txn{Req: req}
}

func TestHTTPAuthFetches(t *testing.T) {
	env := authEnv(t)
	s, err := NewSetEnv([]*config.ACL{
		{Pos: testPos, Name: "auth_ok", Args: []string{"http_auth(L)"}},
		{Pos: testPos, Name: "admin", Args: []string{"http_auth_group(L)", "admins"}},
		{Pos: testPos, Name: "staff", Args: []string{"http_auth_group(L)", "admins", "devs"}},
		{Pos: testPos, Name: "named_alice", Args: []string{"http_auth_group(L)", "alice"}},
		{Pos: testPos, Name: "basic", Args: []string{"http_auth_type", "Basic"}},
		{Pos: testPos, Name: "bearer", Args: []string{"http_auth_bearer", "-m", "found"}},
	}, env)
	if err != nil {
		t.Fatal(err)
	}
	eval := func(tx *Txn, terms string) bool {
		c, err := s.Cond(&config.Cond{Pos: testPos, Terms: strings.Fields(terms)})
		if err != nil {
			t.Fatalf("%s: %v", terms, err)
		}
		return c.Match(tx)
	}
	for _, c := range []struct {
		hdr   []string
		terms string
		want  bool
	}{
		{[]string{basic("alice", "Hello world!")}, "auth_ok", true},
		{[]string{basic("alice", "Hello world!")}, "admin", true},
		{[]string{basic("alice", "Hello world!")}, "staff", true},
		{[]string{basic("alice", "Hello world!")}, "named_alice", false}, // groups, not user names
		{[]string{basic("alice", "Hello world!")}, "{ http_auth_group(L) ops }", true},
		{[]string{basic("alice", "Hello world!")}, "{ http_auth_group(L) devs }", false},
		{[]string{basic("alice", "Hello world")}, "auth_ok", false},
		{[]string{basic("alice", "Hello world")}, "admin", false},
		{[]string{basic("alice", "Hello world")}, "basic", true},
		{[]string{basic("bob", "secret")}, "auth_ok", true},
		{[]string{basic("bob", "secret")}, "admin", false},
		{[]string{basic("bob", "secret")}, "staff", true},
		{[]string{basic("carol", "secret")}, "auth_ok", false},
		{[]string{basic("carol", "secret")}, "{ http_auth_user carol }", true},
		{[]string{basic("carol", "se:cret")}, "{ http_auth_pass se:cret }", true},
		{[]string{basic("bob", "secret"), basic("bob", "secret")}, "auth_ok", false}, // two headers
		{[]string{"Basic !!!!"}, "auth_ok", false},
		{[]string{"Basic !!!!"}, "basic", false},
		{nil, "auth_ok", false},
		{nil, "{ http_auth_type -m found }", false},
		{[]string{"Bearer abc.def"}, "bearer", true},
		{[]string{"Bearer abc.def"}, "{ http_auth_bearer abc.def }", true},
		{[]string{"Bearer abc.def"}, "{ http_auth_type Bearer }", true},
		{[]string{"Bearer abc.def"}, "auth_ok", false},
		{[]string{basic("bob", "secret")}, "bearer", false},
	} {
		if got := eval(authTxn(c.hdr...), c.terms); got != c.want {
			t.Errorf("%v / %s: %v, want %v", c.hdr, c.terms, got, c.want)
		}
	}
}

func TestHTTPAuthStringContext(t *testing.T) {
	env := authEnv(t)
	// In a string context http_auth_group gives the user's name; the
	// bearer fetch with a header name gives "" for a header that is not
	// Bearer, as HAProxy 2.6 does.
	tx := authTxn(basic("alice", "Hello world!"))
	tx.Req.Header.Add("X-Token", "Basic abc")
	for src, want := range map[string]string{
		"http_auth_group(L)":        "alice",
		"http_auth_user":            "alice",
		"http_auth_type":            "Basic",
		"http_auth_bearer(X-Token)": "",
		"http_auth_bearer(X-None)":  "",
	} {
		e, err := compileExpr(src, nil, false)
		if err == nil {
			err = e.bind(env)
		}
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, ok := e.AppendString(nil, tx)
		if !ok || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, got, ok, want)
		}
	}
}

func TestHTTPAuthCompileErrors(t *testing.T) {
	env := authEnv(t)
	for _, c := range []struct {
		args []string
		env  *Env
		want string
	}{
		{[]string{"http_auth(M)"}, env, "unable to find userlist 'M'"},
		{[]string{"http_auth"}, env, "missing arguments"},
		{[]string{"http_auth(L)"}, nil, "userlists cannot be used here"},
		{[]string{"http_auth_group(L)", "-m", "beg", "adm"}, env, "matches group names exactly"},
		{[]string{"http_auth_group(L)", "-i", "ADMINS"}, env, "matches group names exactly"},
		{[]string{"http_auth_group(L)", "-m", "str", "alice"}, env, "matches group names exactly"},
	} {
		_, err := NewSetEnv([]*config.ACL{{Pos: testPos, Name: "a", Args: c.args}}, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := CompileExpr("http_auth(L)", testPos); err == nil || !strings.Contains(err.Error(), "userlists cannot be used here") {
		t.Errorf("CompileExpr: %v", err)
	}
	s, _ := NewSetEnv(nil, env)
	if _, err := s.Cond(&config.Cond{Pos: testPos, Terms: []string{"{", "http_auth(X)", "}"}}); err == nil || !strings.Contains(err.Error(), "unable to find userlist 'X'") {
		t.Errorf("anonymous ACL: %v", err)
	}
}

// BenchmarkHTTPAuthCached: an "http-request auth unless { http_auth(L) }"
// check on a request whose credentials are cached.
func BenchmarkHTTPAuthCached(b *testing.B) {
	l, err := userlist.New(&config.Userlist{Name: "L", Users: []config.UserlistUser{
		{Name: "alice", Password: "$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q"}}}) // "pw"
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSetEnv(nil, &Env{Userlists: map[string]*userlist.List{"L": l}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.Cond(&config.Cond{Pos: testPos, Terms: []string{"{", "http_auth(L)", "}"}})
	if err != nil {
		b.Fatal(err)
	}
	tx := &Txn{Req: &httpmsg.Request{Header: httpmsg.Headers{{Name: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))}}}}
	b.ReportAllocs()
	for b.Loop() {
		if !c.Match(tx) {
			b.Fatal("refused")
		}
	}
}
