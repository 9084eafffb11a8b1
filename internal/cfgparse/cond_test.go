package cfgparse

import (
	"strings"
	"testing"
)

func TestEvalCond(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"FOO": "foo", "EMPTY": ""}[name]
		return v, ok
	}
	tests := []struct {
		expr string
		want bool
		err  string
	}{
		{"", false, ""},
		{"0", false, ""},
		{"1", true, ""},
		{"01", true, ""},
		{"-1", true, ""},
		{"defined(FOO)", true, ""},
		{"defined(EMPTY)", true, ""},
		{"defined(NOPE)", false, ""},
		{"defined( FOO )", false, ""}, // spaces are part of the argument
		{"defined()", false, ""},
		{"feature(OPENSSL)", true, ""},
		{"feature(openssl)", false, ""},
		{"feature(LUA)", false, ""},
		{"feature(PCRE2)", false, ""},
		{"streq(a,a) && strneq(a,b)", true, ""},
		{"streq(,)", true, ""},
		{`streq("a b",'a b')`, true, ""},
		{`streq("a,b",a)`, false, ""},
		{"version_atleast(2.4-dev19)", true, ""},
		{"version_atleast(2.6)", true, ""},
		{"version_atleast(2.6.1)", false, ""},
		{"version_atleast(2.7-dev1)", false, ""},
		{"version_before(2.7)", true, ""},
		{"version_before(2.6)", false, ""},
		{"version_atleast(abc)", true, ""}, // unparsable: HAProxy takes it as met
		{"version_before(abc)", false, ""},
		{"0 || 1 && 0", false, ""},
		{"1 || 0 && 0", true, ""},
		{"!(0) && ! 1", false, ""},
		{"( 1 )", true, ""},
		{"!0", true, ""},
		{"defined(FOO)&&defined(FOO)", true, ""},
		{"foo", false, "unparsable conditional expression 'foo' in '.if' at position 1"},
		{"foo(1)", false, "unparsable conditional expression 'foo(1)' in '.if' at position 1"},
		{"1 2", false, "unexpected character '2' at the end of conditional expression '1 2' in '.if' at position 3"},
		{"1abc", false, "unexpected character 'a' at the end of conditional expression '1abc' in '.if' at position 2"},
		{"!", false, "unparsable conditional expression '!' in '.if' at position 1"},
		{"1 ||", false, "unparsable conditional expression '1 ||' in '.if' at position 5"},
		{"(1", false, "expected ')' after conditional expression '(1' in '.if' at position 1"},
		{"streq(a)", false, "missing arguments (got 1/2) of predicate 'streq' in '.if' at position 8"},
		{"streq(a,b,c)", false, "expected ')' before ',c)': predicate 'streq' takes 2 arguments in '.if' at position 10"},
		{"defined(FOO", false, "expected ')' after the arguments of predicate 'defined' in '.if' at position 12"},
	}
	for _, tc := range tests {
		var toks []token
		for _, w := range strings.Fields(tc.expr) {
			toks = append(toks, token{Text: w})
		}
		got, err := evalCond(toks, ".if", env)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error = %v, want %q", tc.expr, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
}

func TestSplitVersion(t *testing.T) {
	tests := map[string][7]uint64{
		"1.2.1-pre2":          {1, 2, 1, 0, 2, 2, 0},
		"1.2.1":               {1, 2, 1, 0, 3, 0, 0},
		"1.2.10.1":            {1, 2, 10, 1, 3, 0, 0},
		"1.3.16-rc1":          {1, 3, 16, 0, 2, 1, 0},
		"1.4-dev3":            {1, 4, 0, 0, 1, 3, 0},
		"1.5-dev18-43":        {1, 5, 0, 0, 1, 18, 43},
		"2.4-dev18-f6818d-20": {2, 4, 0, 0, 1, 18, 20},
		"2.6.12-1+deb12u4":    {2, 6, 12, 0, 3, 0, 0},
	}
	for in, want := range tests {
		got, ok := splitVersion(in)
		if !ok || got != want {
			t.Errorf("splitVersion(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "abc", "2.x", "1.2.3.4.5"} {
		if _, ok := splitVersion(bad); ok {
			t.Errorf("splitVersion(%q) parsed", bad)
		}
	}
}

// TestConditionalBlocks runs whole configurations: which lines a block
// keeps, the message directives, and the structural errors, which stop the
// load as in HAProxy.
func TestConditionalBlocks(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"A": "1", "WITH_SSL": "yes"}[name]
		return v, ok
	}
	tests := []struct {
		name, cfg string
		want      string // the diagnostics, one per line
	}{
		{"nesting and branches", `
.if defined(A)
  .if streq("$WITH_SSL",no)
    .notice "no"
  .elif streq("$WITH_SSL",yes)
    .notice "ssl"
  .elif bogus
    .notice "never evaluated"
  .else
    .notice "else"
  .endif
.else
  .if garbage(
  .endif
  .alert "dropped"
.endif
.if 0
.elif 0
.else
  .warning "last"
.endif
.diag "only in diagnostic mode"
`, "[NOTICE] parsing [t.cfg:6] : 'ssl'.\n[WARNING] parsing [t.cfg:20] : 'last'."},
		{"dropped lines are still tokenized", ".if 0\n  bogus keyword\n  x \"$\"\n.endif\n",
			"parsing [t.cfg:3] : forbidden first char in environment variable name at position 7"},
		{"alert is fatal", `.alert "boom"`, "parsing [t.cfg:1] : 'boom'."},
		{"one message word", `.notice "a" "b"`, "parsing [t.cfg:1] : Unexpected argument 'b' for '.notice'. Use quotes if the message should contain spaces."},
		{"lone else", ".else\n.notice \"not read\"\n", "parsing [t.cfg:1] : lone '.else' with no matching '.if'."},
		{"lone endif", ".endif\n", "parsing [t.cfg:1] : lone '.endif' with no matching '.if'."},
		{"else after else", ".if 1\n.else\n.else\n.endif\n", "parsing [t.cfg:3] : '.else' after '.else' is not permitted."},
		{"elif after else", ".if 1\n.else\n.elif 1\n.endif\n", "parsing [t.cfg:3] : '.elif' after '.else' is not permitted."},
		{"endif argument", ".if 1\n.endif x\n", "parsing [t.cfg:2] : Unexpected argument 'x' for '.endif'."},
		{"unterminated", "global\n.if 1\n  .if 0\n  .endif\n", "parsing [t.cfg:2] : non-terminated '.if' block."},
		{"bad condition stops the load", ".if foo\n.endif\nbogus\n", "parsing [t.cfg:1] : unparsable conditional expression 'foo' in '.if' at position 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg + "\nfrontend fe\n  mode http\n  bind 127.0.0.1:8080\n  http-request return status 200\n"
			c, err := Parse("t.cfg", []byte(cfg), Options{LookupEnv: env})
			var got []string
			if err != nil {
				for _, d := range err.(Diagnostics) {
					if !d.Warning {
						got = append(got, d.Error())
					}
				}
			} else {
				for _, d := range c.Warnings {
					if strings.HasPrefix(d.Msg, "'") {
						got = append(got, "["+d.Severity()+"] "+d.Error())
					}
				}
			}
			if g := strings.Join(got, "\n"); g != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", g, tc.want)
			}
		})
	}
	c, err := Parse("t.cfg", []byte(".diag \"d\"\nfrontend fe\n  mode http\n  bind 127.0.0.1:8080\n  http-request return status 200\n"), Options{LookupEnv: env, Diagnostic: true})
	if err != nil || len(c.Warnings) == 0 || c.Warnings[0].Severity() != "DIAG" || c.Warnings[0].Msg != "'d'." {
		t.Errorf("diagnostic mode: .diag gave %v, %v", c, err)
	}
}
