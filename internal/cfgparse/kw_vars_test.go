package cfgparse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestVarActions: set-var, set-var-fmt and unset-var in http-request,
// http-response and tcp-request rules and the global section, split as
// HAProxy's parse_store splits them; malformed ones get its messages.
func TestVarActions(t *testing.T) {
	const head = "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 5s\n"
	cfg, err := Parse("v.cfg", []byte(`global
 set-var proc.a int(1),add(2)
 set-var-fmt proc.b "x %[var(proc.a)]"
`+head+`frontend f
 bind 127.0.0.1:8080
 http-request set-var(txn.a,ifnotempty,ifgt) req.hdr(x) if TRUE
 http-request set-var-fmt(req.b) "%[path] y"
 http-request unset-var(txn.a)
 http-response set-var(res.c) status
 default_backend b
backend b
 server s 127.0.0.1:80
listen l
 mode tcp
 bind 127.0.0.1:8081
 tcp-request connection set-var(sess.a) src
 tcp-request content unset-var(sess.a) if { src 10.0.0.0/8 }
 tcp-request content accept
 server s 127.0.0.1:80
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Global.SetVars
	if len(g) != 2 || g[0].Kind != "set-var" || g[0].Name != "proc.a" || g[0].Expr != "int(1),add(2)" || g[1].Kind != "set-var-fmt" || g[1].Expr != "x %[var(proc.a)]" {
		t.Errorf("global: %+v %+v", g[0], g[1])
	}
	f := cfg.Proxies[0]
	want := []config.VarAction{
		{Kind: "set-var", Name: "txn.a", Conds: []string{"ifnotempty", "ifgt"}, Expr: "req.hdr(x)"},
		{Kind: "set-var-fmt", Name: "req.b", Expr: "%[path] y"},
		{Kind: "unset-var", Name: "txn.a"},
	}
	for i, w := range want {
		a := f.HTTPRequest[i]
		got := *a.Var
		got.Pos = config.Pos{}
		if a.Action != w.Kind || !reflect.DeepEqual(got, w) {
			t.Errorf("rule %d: %s %+v, want %+v", i, a.Action, got, w)
		}
	}
	if f.HTTPRequest[0].Cond == nil || f.HTTPResponse[0].Var.Name != "res.c" {
		t.Errorf("condition or response rule lost")
	}
	l := cfg.Proxies[2]
	if len(l.TCPRequest) != 3 || l.TCPRequest[0].Var.Name != "sess.a" || l.TCPRequest[1].Var.Kind != "unset-var" || l.TCPRequest[1].Cond == nil || l.TCPRequest[2].Var != nil {
		t.Errorf("tcp rules: %+v", l.TCPRequest)
	}
	for _, tc := range []struct{ cfg, want string }{
		{"frontend f\n bind :80\n http-request set-var txn.a\n", "invalid or incomplete action 'set-var'. Expects 'set-var(<var-name>)'"},
		{"frontend f\n bind :80\n http-request set-var(txn.a str(a)\n", "incomplete argument after action 'set-var(txn.a'"},
		{"frontend f\n bind :80\n http-request unset-var(txn.a,ifset)\n", `unset-var does not expect parameters after the variable name. Only "set-var" and "set-var-fmt" manage conditions`},
		{"frontend f\n bind :80\n http-request set-var(txn.a)\n", "expects exactly 1 argument (<expr>), got 0"},
		{"frontend f\n bind :80\n http-request set-var-fmt(txn.a) a b\n", "expects exactly 1 argument (<fmt>), got 2"},
		{"frontend f\n bind :80\n http-request unset-var(txn.a) x\n", "expects no argument, got 1"},
		{"listen l\n mode tcp\n bind :80\n tcp-request content set-var(txn.a)\n", "'tcp-request content set-var(txn.a)' : expects exactly 1 argument"},
		{"listen l\n mode tcp\n bind :80\n tcp-request content track-sc0 src\n", "table 'l' used but not configured"},
		{"listen l\n mode tcp\n bind :80\n tcp-request content set-tos 4\n", "action 'set-tos' is not implemented by Gatehouse"},
		{"global\n set-var proc.a\n", "'set-var' requires a process-wide variable name ('proc.<name>') and a sample expression."},
		{"global\n set-var-fmt txn.a x\n", "'set-var-fmt': cannot set variable 'txn.a', only scope 'proc' is permitted in the global section."},
	} {
		_, err := Parse("v.cfg", []byte(head+tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// TestVarsMaxSize: read as HAProxy's strtol into an unsigned int: no value
// is 0, a negative one wraps; anything after the digits is its error.
func TestVarsMaxSize(t *testing.T) {
	src := `global
    tune.vars.txn-max-size
    tune.vars.sess-max-size -1
    tune.vars.reqres-max-size 64 ignored
    tune.vars.global-max-size 1000
frontend f
    bind 127.0.0.1:8080
`
	cfg, err := Parse("v.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := *cfg.Global.VarsMaxSize; got != (config.VarsMaxSize{Sess: 1<<32 - 1, ReqRes: 64, Global: 1000}) {
		t.Errorf("%+v", got)
	}
	_, err = Parse("v.cfg", []byte("global\n    tune.vars.proc-max-size 10k\n"), Options{LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "tune.vars.proc-max-size: '10k' is an invalid size") {
		t.Errorf("10k: %v", err)
	}
}
