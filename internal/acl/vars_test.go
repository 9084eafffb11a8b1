package acl

import (
	"math"
	"strings"
	"testing"
)

// varTxn is testTxn with variable storage in every scope.
func varTxn() *Txn {
	t := testTxn()
	t.Vars = &Vars{Proc: &SharedVars{}, Sess: &SharedVars{}}
	return t
}

func mustSet(tb testing.TB, t *Txn, name, expr string, conds ...string) {
	tb.Helper()
	a, err := CompileVarAction(name, conds, expr, false, testPos)
	if err != nil {
		tb.Fatalf("CompileVarAction(%s, %s): %v", name, expr, err)
	}
	a.Run(t)
}

func str(tb testing.TB, t *Txn, expr string) (string, bool) {
	tb.Helper()
	b, ok := mustExpr(tb, expr).AppendString(nil, t)
	return string(b), ok
}

func TestParseVarName(t *testing.T) {
	for _, ok := range []string{"proc.a", "sess.a_b", "txn.x.y", "req.Z9", "res.r", "check.port"} {
		if _, err := ParseVarName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"":         "Empty variable name cannot be accepted",
		"txn.":     "invalid variable name 'txn.'. A variable name must be start by its scope",
		"foo.bar":  "invalid variable name 'foo.bar'",
		"txn.a-b":  "invalid syntax at char '-b'",
		"sess.a b": "invalid syntax at char ' b'",
	} {
		_, err := ParseVarName(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseVarName(%q) = %v, want %q", in, err, want)
		}
	}
}

// The var fetch gives back the type a variable was set with.
func TestVarTypes(t *testing.T) {
	tx := varTxn()
	mustSet(t, tx, "txn.s", "req.hdr(host)")
	mustSet(t, tx, "txn.i", "int(42)")
	mustSet(t, tx, "txn.b", "bool(true)")
	mustSet(t, tx, "txn.ip", "src")
	mustSet(t, tx, "txn.bin", "str(abc),bytes(1)")
	for name, want := range map[string]smpType{"txn.s": tStr, "txn.i": tInt, "txn.b": tBool, "txn.ip": tIP, "txn.bin": tBin} {
		n, _ := ParseVarName(name)
		s, ok := tx.getVar(&n)
		if !ok || s.typ != want {
			t.Errorf("%s: type %v (ok %v), want %v", name, s.typ, ok, want)
		}
	}
	for expr, want := range map[string]string{
		"var(txn.s)": "WWW.Example.com:8080", "var(txn.i)": "42", "var(txn.b)": "1",
		"var(txn.ip)": "192.168.1.10", "var(txn.bin)": "bc", "var(txn.none,dflt)": "dflt",
		"var(txn.i,dflt)": "42", "var(txn.i),add(1)": "43",
	} {
		if got, ok := str(t, tx, expr); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", expr, got, ok, want)
		}
	}
	if _, ok := str(t, tx, "var(txn.none)"); ok {
		t.Error("an unset variable without a default has a value")
	}
	// ACLs on var() need a matching method; then they match by the type.
	set, err := compileACLTest([]string{"var(txn.i)", "42"}, aclKeywords())
	if err == nil || !strings.Contains(err.Error(), "matching method must be specified first (using '-m')") {
		t.Fatalf("acl without -m: %v %v", set, err)
	}
	for _, c := range []struct {
		args []string
		want Result
	}{
		{[]string{"var(txn.i)", "-m", "int", "gt", "41"}, Pass},
		{[]string{"var(txn.i)", "-m", "int", "lt", "41"}, Fail},
		{[]string{"var(txn.ip)", "-m", "ip", "192.168.0.0/16"}, Pass},
		{[]string{"var(txn.s)", "-m", "beg", "-i", "www."}, Pass},
		{[]string{"var(txn.none)", "-m", "found"}, Fail},
		{[]string{"var(txn.s)", "-m", "found"}, Pass},
		{[]string{"var(txn.b)", "-m", "bool"}, Pass},
	} {
		a, err := compileACLTest(c.args, aclKeywords())
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := a.eval(tx); got != c.want {
			t.Errorf("%v = %v, want %v", c.args, got, c.want)
		}
	}
}

// Scopes and lifetimes: req variables go at ToResponse, txn ones at Reset,
// sess and proc ones stay; tcp-request connection reaches only those two.
func TestVarScopes(t *testing.T) {
	tx := varTxn()
	for _, n := range []string{"proc.p", "sess.s", "txn.t", "req.q"} {
		mustSet(t, tx, n, "str("+n+")")
	}
	mustSet(t, tx, "res.r", "str(early)") // no response yet: not stored
	mustSet(t, tx, "check.c", "str(x)")   // no check here
	get := func(n string) string { v, _ := str(t, tx, "var("+n+")"); return v }
	if v, ok := str(t, tx, "var(res.r,dflt)"); ok {
		t.Fatalf("res scope in the request phase gave %q (HAProxy: no value, not even the default)", v)
	}
	if get("req.q") != "req.q" || get("res.r") != "" || get("check.c") != "" {
		t.Fatalf("request phase: req %q res %q check %q", get("req.q"), get("res.r"), get("check.c"))
	}
	tx.Vars.ToResponse()
	mustSet(t, tx, "res.r", "str(late)")
	mustSet(t, tx, "req.q2", "str(x)")
	if v, ok := str(t, tx, "var(req.q,dflt)"); ok {
		t.Fatalf("req scope in the response phase gave %q", v)
	}
	if v, _ := str(t, tx, "var(res.none,dflt)"); v != "dflt" {
		t.Fatalf("an unset res variable gave %q, want the default", v)
	}
	if get("req.q") != "" || get("req.q2") != "" || get("res.r") != "late" || get("txn.t") != "txn.t" {
		t.Fatalf("response phase: req %q res %q txn %q", get("req.q"), get("res.r"), get("txn.t"))
	}
	tx.Vars.Reset()
	if get("txn.t") != "" || get("res.r") != "" || get("sess.s") != "sess.s" || get("proc.p") != "proc.p" {
		t.Fatalf("next transaction: txn %q res %q sess %q proc %q", get("txn.t"), get("res.r"), get("sess.s"), get("proc.p"))
	}
	mustSet(t, tx, "req.q", "str(again)")
	if get("req.q") != "again" {
		t.Fatal("a new transaction starts in the request phase")
	}
	tx.Vars.NoStream = true
	mustSet(t, tx, "txn.t", "str(conn)")
	mustSet(t, tx, "sess.s2", "str(conn)")
	tx.Vars.NoStream = false
	if get("txn.t") != "" || get("sess.s2") != "conn" {
		t.Fatalf("tcp-request connection: txn %q sess %q", get("txn.t"), get("sess.s2"))
	}
	tx.Vars = nil
	if _, ok := str(t, tx, "var(proc.p)"); ok {
		t.Fatal("a Txn without Vars has variables")
	}
}

func TestUnsetVar(t *testing.T) {
	tx := varTxn()
	mustSet(t, tx, "txn.a", "int(1)")
	mustSet(t, tx, "proc.a", "int(1)")
	for _, n := range []string{"txn.a", "proc.a", "txn.never"} {
		a, err := CompileVarAction(n, nil, "", true, testPos)
		if err != nil {
			t.Fatal(err)
		}
		a.Run(tx)
	}
	if _, ok := str(t, tx, "var(txn.a)"); ok {
		t.Fatal("txn.a still set")
	}
	if _, ok := str(t, tx, "var(proc.a)"); ok {
		t.Fatal("proc.a still set")
	}
	// A removed txn variable no longer exists; a proc one always does.
	mustSet(t, tx, "txn.a", "int(2)", "ifexists")
	mustSet(t, tx, "proc.a", "int(2)", "ifexists")
	if v, ok := str(t, tx, "var(txn.a)"); ok {
		t.Fatalf("ifexists set a removed variable: %q", v)
	}
	if v, _ := str(t, tx, "var(proc.a)"); v != "2" {
		t.Fatalf("ifexists on proc.a: %q", v)
	}
	if tx.Vars.Txn.Len() != 0 {
		t.Fatalf("txn list holds %d", tx.Vars.Txn.Len())
	}
}

// The set-var conditions, as HAProxy's var_set tests them.
func TestSetVarConditions(t *testing.T) {
	cases := []struct {
		name  string
		pre   string // expression set before, "" for none
		expr  string
		conds []string
		want  string // "" for unset
	}{
		{"txn.v", "", "int(5)", []string{"ifexists"}, ""},
		{"txn.v", "int(1)", "int(5)", []string{"ifexists"}, "5"},
		{"txn.v", "int(1)", "int(5)", []string{"ifnotexists"}, "1"},
		{"txn.v", "", "int(5)", []string{"ifnotexists"}, "5"},
		{"proc.v", "", "int(5)", []string{"ifnotexists"}, ""},
		{"proc.v", "", "int(5)", []string{"ifexists"}, "5"},
		{"txn.v", "", "str()", []string{"ifnotempty"}, ""},
		{"txn.v", "", "str(a)", []string{"ifnotempty"}, "a"},
		{"txn.v", "", "str(a)", []string{"ifempty"}, ""},
		{"txn.v", "str(x)", "int(0)", []string{"ifempty"}, "x"},
		{"txn.v", "", "int(3)", []string{"ifset"}, ""},
		{"txn.v", "int(1)", "int(3)", []string{"ifset"}, "3"},
		{"txn.v", "int(1)", "int(3)", []string{"ifnotset"}, "1"},
		{"txn.v", "int(9)", "int(3)", []string{"ifgt"}, "3"},
		{"txn.v", "int(1)", "int(3)", []string{"ifgt"}, "1"},
		{"txn.v", "int(1)", "int(3)", []string{"iflt"}, "3"},
		{"txn.v", "int(9)", "int(3)", []string{"iflt"}, "9"},
		{"txn.v", "str(9)", "int(3)", []string{"iflt"}, "3"}, // not both integers: true
		{"txn.v", "int(1)", "int(3)", []string{"ifexists", "iflt"}, "3"},
	}
	for _, c := range cases {
		tx := varTxn()
		if c.pre != "" {
			mustSet(t, tx, c.name, c.pre)
		}
		mustSet(t, tx, c.name, c.expr, c.conds...)
		got, _ := str(t, tx, "var("+c.name+")")
		if got != c.want {
			t.Errorf("pre %q, set %s %v: %q, want %q", c.pre, c.expr, c.conds, got, c.want)
		}
	}
	if _, err := CompileVarAction("txn.a", []string{"ifsomething"}, "int(1)", false, testPos); err == nil ||
		!strings.Contains(err.Error(), `unknown condition "ifsomething"`) {
		t.Fatalf("unknown condition: %v", err)
	}
}

func TestVarConverters(t *testing.T) {
	tx := varTxn()
	mustSet(t, tx, "txn.n", "int(7)")
	mustSet(t, tx, "txn.z", "int(0)")
	mustSet(t, tx, "txn.s", "str(abc)")
	mustSet(t, tx, "sess.ip", "src")
	mustSet(t, tx, "txn.str12", "str(12xyz)")
	tests := []struct {
		expr string
		want string
		ok   bool
	}{
		{"int(5),add(3)", "8", true},
		{"int(5),add", "5", true}, // no value is 0, as HAProxy reads it
		{"int(5),add(txn.n)", "12", true},
		{"int(5),add(txn.none)", "", false},
		{"int(5),sub(txn.n)", "-2", true},
		{"int(5),mul(txn.n)", "35", true},
		{"int(50),div(txn.n)", "7", true},
		{"int(50),div(txn.z)", "9223372036854775807", true},
		{"int(50),mod(txn.n)", "1", true},
		{"int(50),mod(0)", "0", true},
		{"int(6),and(3)", "2", true},
		{"int(6),or(txn.n)", "7", true},
		{"int(6),xor(3)", "5", true},
		{"int(6),neg", "-6", true},
		{"int(6),cpl", "-7", true},
		{"int(6),bool", "1", true},
		{"int(0),bool", "0", true},
		{"int(6),not", "0", true},
		{"int(6),odd", "0", true},
		{"int(6),even", "1", true},
		{"int(9223372036854775807),add(1)", "9223372036854775807", true},
		{"int(-9223372036854775807),sub(10)", "-9223372036854775808", true},
		{"int(4611686018427387904),mul(4)", "9223372036854775807", true},
		{"int(4611686018427387904),mul(-4)", "-9223372036854775808", true},
		{"str(12abc),add(1)", "13", true},                // leading digits
		{"str(),add(1)", "", false},                      // an empty string does not cast
		{"src,add(0)", "3232235786", true},               // IPv4 as 32 bits
		{"var(sess.ip),add(0)", "3232235786", true},      // the variable kept its type
		{"str(::1),ipmask(0,64),add(0)", "", false},      // IPv6 does not cast
		{"str(abc),bytes(0),add(1)", "", false},          // nor binary
		{"int(1),add(txn.str12)", "13", true},            // a string variable casts
		{"str(a),concat(<,txn.s,>)", "a<abc>", true},     // concat
		{"str(a),concat(,txn.none,>)", "a>", true},       // unset: nothing appended
		{"int(7),concat(-)", "7-", true},                 // input cast to a string
		{"str(a),add_item(\\,,txn.s)", "a,abc", true},    // add_item
		{"str(),add_item(\\,,txn.s)", "abc", true},       // no delimiter after nothing
		{"str(a),add_item(\\,,txn.none,x)", "a,x", true}, // the suffix alone
		{"str(a),add_item(\\,,txn.none,)", "a", true},    // nothing to add: no delimiter
		{"str(abc),strcmp(txn.s)", "0", true},            // strcmp
		{"str(abd),strcmp(txn.s)", "1", true},            // 'd'-'c'
		{"str(ab),strcmp(txn.s)", "-1", true},            // shorter
		{"str(abcd),strcmp(txn.s)", "1", true},           // longer
		{"int(7),strcmp(txn.n)", "0", true},              // both cast to strings
		{"str(abc),strcmp(txn.none)", "", false},         // unset: no value
		{"str(abc),secure_memcmp(txn.s)", "1", true},     //
		{"str(abd),secure_memcmp(txn.s)", "0", true},     //
		{"str(7),secure_memcmp(txn.n)", "0", true},       // an integer is 8 bytes
		{"int(7),secure_memcmp(txn.n)", "1", true},       //
		{"str(x),set-var(txn.w),upper", "X", true},       // set-var passes the input
		{"var(txn.w),concat(y)", "xy", true},             // and stored it
		{"int(3),set-var(txn.w2),add(1)", "4", true},     //
		{"var(txn.w2),add(txn.w2)", "6", true},           // kept as an integer
		{"str(q),unset-var(txn.w)", "q", true},           //
		{"var(txn.w,gone)", "gone", true},                //
		{"int(5),set-var(txn.w3,ifexists)", "", false},   // conditions: not stored, no value (HAProxy)
		{"str(),set-var(txn.w5,ifnotempty)", "", false},  //
		{"int(7),set-var(res.x)", "", false},             // no res scope in a request: no value
		{"int(8),unset-var(res.y)", "", false},           //
		{"int(9),unset-var(txn.none)", "9", true},        //
		{"var(txn.w3,no)", "no", true},                   //
		{"int(5),set-var(txn.w3,ifnotexists,ifnotempty)", "5", true},
		{"var(txn.w3)", "5", true},
	}
	for _, tc := range tests {
		e, err := CompileExpr(tc.expr, testPos)
		if err != nil {
			if tc.ok {
				t.Errorf("%s: %v", tc.expr, err)
			}
			continue
		}
		got, ok := e.AppendString([]byte("pre:"), tx)
		if ok != tc.ok || ok && string(got) != "pre:"+tc.want || !ok && string(got) != "pre:" {
			t.Errorf("%s = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestVarConverterErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"int(1),add(foo)":            "expects an integer or a variable name",
		"int(1),add(5x)":             "expects an integer or a variable name",
		"str(a),concat(,foo,)":       "failed to register variable name 'foo'",
		"str(a),add_item(\\,,,)":     "one of the optional arguments has to be nonempty",
		"str(a),strcmp()":            "missing variable name",
		"str(a),set-var()":           "Empty variable name cannot be accepted",
		"str(a),strcmp(x.y)":         "failed to register variable name 'x.y'",
		"str(a),set-var(txn.a,ifno)": `unknown condition "ifno"`,
		"str(a),set-var(foo)":        "invalid variable name 'foo'",
		"var(foo)":                   "invalid variable name 'foo'",
		"var()":                      "Empty variable name cannot be accepted",
	} {
		_, err := CompileExpr(expr, testPos)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}

func TestArithSaturation(t *testing.T) {
	for _, c := range []struct {
		op   convOp
		x, y int64
		want int64
	}{
		{cSub, 0, math.MinInt64, math.MaxInt64},
		{cSub, -1, math.MinInt64, math.MaxInt64},
		{cSub, -2, math.MinInt64, math.MaxInt64 - 1},
		{cMul, math.MinInt64, -1, math.MaxInt64},
		{cDiv, math.MinInt64, -1, math.MaxInt64},
		{cMod, math.MinInt64, -1, 0},
		{cMod, -7, 3, -1},
		{cDiv, -7, 2, -3},
		{cAdd, math.MinInt64, -1, math.MinInt64},
	} {
		if got := arith(c.op, c.x, c.y); got != c.want {
			t.Errorf("arith(%d, %d, %d) = %d, want %d", c.op, c.x, c.y, got, c.want)
		}
	}
	for in, want := range map[string]int64{"99999999999999999999": math.MaxInt64, "-99999999999999999999": math.MinInt64, "+5": 5, "": 0} {
		if got, _ := readInt64(in); got != want {
			t.Errorf("readInt64(%q) = %d", in, got)
		}
	}
}

// Shared scopes are safe from several goroutines (HTTP/2 streams of a
// connection, every stream of a runtime).
func TestSharedVarsConcurrent(t *testing.T) {
	proc, sess := &SharedVars{}, &SharedVars{}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			tx := testTxn()
			tx.Vars = &Vars{Proc: proc, Sess: sess}
			inc := mustExpr(t, "var(proc.n,0),add(1),set-var(proc.n)")
			for i := 0; i < 200; i++ {
				inc.AppendString(nil, tx)
				mustSet(t, tx, "sess.s", "str(abcdef)")
				if v, ok := str(t, tx, "var(sess.s)"); !ok || v != "abcdef" {
					t.Errorf("sess.s = %q", v)
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	if proc.Len() != 1 || sess.Len() != 1 {
		t.Fatalf("proc %d sess %d variables", proc.Len(), sess.Len())
	}
}

// Setting and reading variables allocates nothing once a transaction's
// lists have grown: their storage is kept across Reset.
func TestVarsNoAllocSteadyState(t *testing.T) {
	tx := varTxn()
	set, _ := CompileVarAction("txn.p", nil, "path", false, testPos)
	setReq, _ := CompileVarAction("req.h", nil, "req.hdr(host),lower", false, testPos)
	setSess, _ := CompileVarAction("sess.n", nil, "var(sess.n,0),add(1)", false, testPos)
	get := mustExpr(t, "var(txn.p),concat(:,req.h)")
	var buf []byte
	run := func() {
		set.Run(tx)
		setReq.Run(tx)
		setSess.Run(tx)
		buf, _ = get.AppendString(buf[:0], tx)
		tx.Vars.Reset()
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per transaction", n)
	}
	if string(buf) != "/api/v1/users:www.example.com:8080" {
		t.Fatalf("got %q", buf)
	}
}

// BenchmarkVarSetGet is one transaction's set-var(txn.path) path, a read
// of var(txn.path) into a header value and the end of the transaction.
func BenchmarkVarSetGet(b *testing.B) {
	tx := varTxn()
	set, _ := CompileVarAction("txn.path", nil, "path", false, testPos)
	get := mustExpr(b, "var(txn.path)")
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		set.Run(tx)
		buf, _ = get.AppendString(buf[:0], tx)
		tx.Vars.Reset()
	}
}
