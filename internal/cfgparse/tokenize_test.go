package cfgparse

import (
	"reflect"
	"testing"
)

func TestTokenizeLine(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == ".LINE" {
			return "7", true
		}
		v, ok := map[string]string{"HOST": "gw.local", "EMPTY": "", "A_1": "x  y", "SP": " x "[0:1] + " "}[name]
		return v, ok
	}
	tests := []struct {
		name string
		in   string
		want []string
		err  string
	}{
		{"words", "  bind  *:80\tname web  ", []string{"bind", "*:80", "name", "web"}, ""},
		{"comment", "mode http # comment here", []string{"mode", "http"}, ""},
		{"comment only", "   # nothing", nil, ""},
		{"hash in quotes", `acl x path "/a#b" '/c#d'`, []string{"acl", "x", "path", "/a#b", "/c#d"}, ""},
		{"escaped hash", `acl x path /a\#b`, []string{"acl", "x", "path", "/a#b"}, ""},
		{"escaped space", `set-header X a\ b`, []string{"set-header", "X", "a b"}, ""},
		{"httpchk old form", `option httpchk GET / HTTP/1.1\r\nHost:\ example.com`,
			[]string{"option", "httpchk", "GET", "/", "HTTP/1.1\r\nHost: example.com"}, ""},
		{"tab and hex", `x a\tb \x41\x7a`, []string{"x", "a\tb", "Az"}, ""},
		{"unknown escape kept", `replace-header X (\d+) \1`, []string{"replace-header", "X", `(\d+)`, `\1`}, ""},
		{"backslash escapes", `x \\ \" \'`, []string{"x", `\`, `"`, `'`}, ""},
		{"single quotes literal", `x '${HOST} \n $HOST'`, []string{"x", `${HOST} \n $HOST`}, ""},
		{"double quotes expand braces", `server s "${HOST}:443"`, []string{"server", "s", "gw.local:443"}, ""},
		{"double quotes expand bare", `x "$HOST/path"`, []string{"x", "gw.local/path"}, ""},
		{"expansion keeps spaces in one word", `x "${A_1}"`, []string{"x", "x  y"}, ""},
		{"undefined is empty", `x "${NOPE}"`, []string{"x", ""}, ""},
		{"no expansion outside quotes", `x ${HOST}`, []string{"x", "${HOST}"}, ""},
		{"escaped dollar", `x "cost \$ 5" $ '$'`, []string{"x", "cost $ 5", "$", "$"}, ""},
		{"lone dollar in double quotes", `x "cost $ 5"`, nil, "forbidden first char in environment variable name at position 10"},
		{"default when unset", `x "${NOPE-a b}" "${EMPTY-zz}" "${HOST-zz}"`, []string{"x", "a b", "", "gw.local"}, ""},
		{"default taken to the first brace", `x "${NOPE-${HOST}}" "${NOPE-x}y}"`, []string{"x", "${HOST}", "xy}"}, ""},
		{"word expansion", `x "${A_1[*]}" "p${A_1[*]}q"`, []string{"x", "x", "y", "px", "yq"}, ""},
		{"word expansion of spaces", `x "${SP[*]}"`, []string{"x", "", ""}, ""},
		{"word expansion unset is one empty word", `x "${NOPE[*]}" y`, []string{"x", "", "y"}, ""},
		{"word expansion with default", `x "${NOPE[*]-a b}"`, []string{"x", "a", "b"}, ""},
		{"pseudo variables", `x "${.LINE}" "$.LINE"`, []string{"x", "7", "7"}, ""},
		{"name ends at a dot", `x "$HOST.x"`, []string{"x", "gw.local.x"}, ""},
		{"unknown pseudo variable", `x "${.NOPE}"`, nil, "forbidden first char in environment variable name at position 6"},
		{"only [*] expands words", `x "${HOST[,]}"`, nil, "truncated or invalid word expansion sequence at position 10"},
		{"shell default form", `x "${NOPE:-x}"`, nil, "unmatched brace in environment variable name at position 5"},
		{"empty word", `x "" y`, []string{"x", "", "y"}, ""},
		{"concatenation", `x a"b c"'d'e`, []string{"x", "ab cde"}, ""},
		{"escape in double quotes", `x "a\"b"`, []string{"x", `a"b`}, ""},
		{"crlf", "mode http\r", []string{"mode", "http"}, ""},
		{"trailing backslash", `x a\`, []string{"x", `a\`}, ""},
		{"unmatched double", `x "abc`, nil, "unmatched quote at position 3"},
		{"unmatched single", `x 'abc`, nil, "unmatched quote at position 3"},
		{"bad hex", `x \xZZ`, nil, "truncated or invalid hexadecimal sequence at position 3"},
		{"unterminated brace", `x "${HOST"`, nil, "unmatched brace in environment variable name at position 5"},
		{"bad env name", `x "${1A}"`, nil, "forbidden first char in environment variable name at position 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := tokenizeLine(tc.in, 7, env)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(toks); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for _, tk := range toks {
				if tk.Line != 7 {
					t.Fatalf("token %q has line %d", tk.Text, tk.Line)
				}
			}
		})
	}
}

func TestLineTooLong(t *testing.T) {
	long := make([]byte, maxLineLen+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err := Parse("big.cfg", long, Options{})
	want := "parsing [big.cfg:1] : line too long (65537 bytes, the limit is 65536)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestValues(t *testing.T) {
	durs := []struct {
		in   string
		want string
		err  bool
	}{
		{"10", "10ms", false}, {"10s", "10s", false}, {"1m", "1m0s", false}, {"2h", "2h0m0s", false},
		{"1d", "24h0m0s", false}, {"500us", "500µs", false}, {"0", "0s", false},
		{"10x", "", true}, {"s", "", true}, {"-1", "", true}, {"30d", "", true}, {"", "", true},
	}
	for _, d := range durs {
		got, err := parseDuration(d.in)
		if (err != nil) != d.err || (err == nil && got.String() != d.want) {
			t.Errorf("parseDuration(%q) = %v, %v", d.in, got, err)
		}
	}
	sizes := []struct {
		in   string
		want int
		err  bool
	}{{"16384", 16384, false}, {"16k", 16384, false}, {"1m", 1 << 20, false}, {"1G", 1 << 30, false}, {"x", 0, true}, {"-1", 0, true}, {"4g", 0, true}}
	for _, s := range sizes {
		got, err := parseSize(s.in)
		if (err != nil) != s.err || got != s.want {
			t.Errorf("parseSize(%q) = %v, %v", s.in, got, err)
		}
	}
}

func TestBestMatch(t *testing.T) {
	cands := []string{"use_backend", "default_backend", "frontend", "backend", "mode"}
	for in, want := range map[string]string{"use_backnd": "use_backend", "frontnd": "frontend", "mod": "mode", "zzzzzz": ""} {
		if got := bestMatch(in, cands); got != want {
			t.Errorf("bestMatch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvExpandAddress(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"HOST": "10.0.0.1", "PORT": "8443", "EMPTY": ""}[name]
		return v, ok
	}
	tests := map[string]string{
		"${HOST}:${PORT}":   "10.0.0.1:8443",
		"$HOST:$PORT":       "10.0.0.1:8443",
		"${NOPE}${HOST}:80": "10.0.0.1:80",
		"${HOST-x}:80":      "10.0.0.1-x}:80", // as HAProxy's env_expand: no default values here
		"${HOST:80":         "10.0.0.1:80",
		"a$:80":             "a:80",
		"[::1]:80":          "[::1]:80",
		"${EMPTY}:80":       ":80",
	}
	for in, want := range tests {
		if got := envExpand(in, env); got != want {
			t.Errorf("envExpand(%q) = %q, want %q", in, got, want)
		}
	}
}
