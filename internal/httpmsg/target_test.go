package httpmsg

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		err  error
	}{
		// origin-form: a "://" inside the query or the path is data.
		{in: "/", want: Target{Form: FormOrigin, Path: "/", PathQuery: "/"}},
		{in: "/p?u=http://x/a", want: Target{Form: FormOrigin, Path: "/p", Query: "u=http://x/a", HasQuery: true, PathQuery: "/p?u=http://x/a"}},
		{in: "/public/page?u=http://x/app/secret", want: Target{Form: FormOrigin, Path: "/public/page", Query: "u=http://x/app/secret", HasQuery: true, PathQuery: "/public/page?u=http://x/app/secret"}},
		{in: "/a/http://x/b", want: Target{Form: FormOrigin, Path: "/a/http://x/b", PathQuery: "/a/http://x/b"}},
		{in: "//evil.example/", want: Target{Form: FormOrigin, Path: "//evil.example/", PathQuery: "//evil.example/"}},
		{in: "/p?", want: Target{Form: FormOrigin, Path: "/p", HasQuery: true, PathQuery: "/p?"}},
		{in: "/p?a?b", want: Target{Form: FormOrigin, Path: "/p", Query: "a?b", HasQuery: true, PathQuery: "/p?a?b"}},
		{in: "/?x", want: Target{Form: FormOrigin, Path: "/", Query: "x", HasQuery: true, PathQuery: "/?x"}},
		// absolute-form.
		{in: "http://h/p?q", want: Target{Form: FormAbsolute, Scheme: "http", Authority: "h", Path: "/p", Query: "q", HasQuery: true, PathQuery: "/p?q"}},
		{in: "HTTP://h", want: Target{Form: FormAbsolute, Scheme: "HTTP", Authority: "h"}},
		{in: "https://h:8443", want: Target{Form: FormAbsolute, Scheme: "https", Authority: "h:8443"}},
		{in: "http://[::1]:80/a", want: Target{Form: FormAbsolute, Scheme: "http", Authority: "[::1]:80", Path: "/a", PathQuery: "/a"}},
		{in: "web+x.y-z://h/", want: Target{Form: FormAbsolute, Scheme: "web+x.y-z", Authority: "h", Path: "/", PathQuery: "/"}},
		{in: "http://h/p?u=http://x/admin", want: Target{Form: FormAbsolute, Scheme: "http", Authority: "h", Path: "/p", Query: "u=http://x/admin", HasQuery: true, PathQuery: "/p?u=http://x/admin"}},
		// authority-form and asterisk-form.
		{in: "example.com:443", want: Target{Form: FormAuthority, Authority: "example.com:443"}},
		{in: "[::1]:8443", want: Target{Form: FormAuthority, Authority: "[::1]:8443"}},
		{in: "*", want: Target{Form: FormAsterisk}},
		// Everything else is refused, not reinterpreted.
		{in: "", err: ErrTarget},
		{in: "p", err: ErrTarget},
		{in: "p/x", err: ErrTarget},
		{in: "a?b://c/d", err: ErrTarget},
		{in: "x/y://h/p", err: ErrTarget},
		{in: "1http://h/", err: ErrTarget},
		{in: "ht tp://h/", err: ErrTarget},
		{in: "http:/h/p", err: ErrTarget},
		{in: "http:h", err: ErrTarget},
		{in: "mailto:a@b", err: ErrTarget},
		{in: "http://", err: ErrEmptyAuthority},
		{in: "http:///p", err: ErrEmptyAuthority},
		{in: "http://?q", err: ErrEmptyAuthority},
		{in: "http://u:p@h/", err: ErrUserinfo},
		{in: "http://h?q=/x", err: ErrTarget},
		{in: "http://h?", err: ErrTarget},
		{in: "http://h\\evil/", err: ErrTarget},
		{in: "http://h/p#f", err: ErrTarget},
		{in: "/p#f", err: ErrTarget},
		{in: "/p q", err: ErrTarget},
		{in: "/p\x00", err: ErrTarget},
		{in: "/p\x80", err: ErrTarget},
		{in: "/p\x7f", err: ErrTarget},
		{in: "**", err: ErrTarget},
		{in: "example.com", err: ErrTarget},
		{in: "example.com:", err: ErrTarget},
		{in: ":443", err: ErrTarget},
		{in: "example.com:44x", err: ErrTarget},
		{in: "example.com:0", err: ErrTarget},
		{in: "example.com:65536", err: ErrTarget},
		{in: "u@example.com:443", err: ErrTarget},
		{in: "a:b:443", err: ErrTarget},
		{in: "[::1:443", err: ErrTarget},
		{in: "ex%zzample:443", err: ErrTarget},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if err != tt.err {
			t.Errorf("ParseTarget(%q) error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseTarget(%q) =\n  %+v\nwant\n  %+v", tt.in, got, tt.want)
		}
	}
}

func TestOriginForm(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/p?u=http://x/a", "/p?u=http://x/a", true},
		{"//evil.example/", "//evil.example/", true},
		{"http://h/p?q", "/p?q", true},
		{"HTTP://h", "/", true},
		{"http://h?q", "", false},
		{"*", "", false},
		{"h:443", "", false},
		{"junk", "", false},
	}
	for _, tt := range tests {
		tg, _ := ParseTarget(tt.in)
		got, ok := tg.OriginForm()
		if got != tt.want || ok != tt.ok {
			t.Errorf("OriginForm(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// The Request accessors are the parser's split: a "://" in the query is
// not the end of a scheme.
func TestRequestPathQuery(t *testing.T) {
	tests := []struct{ uri, path, query string }{
		{"/public/page?u=http://x/app/secret", "/public/page", "u=http://x/app/secret"},
		{"/?u=http://x//evil.example/", "/", "u=http://x//evil.example/"},
		{"/x?u=http://x/oauth2/sign_out", "/x", "u=http://x/oauth2/sign_out"},
		{"http://h/a/b?c=d", "/a/b", "c=d"},
		{"http://h", "", ""},
		{"*", "", ""},
		{"h:443", "", ""},
	}
	for _, tt := range tests {
		r := &Request{URI: tt.uri}
		if p, q := r.Path(), r.Query(); p != tt.path || q != tt.query {
			t.Errorf("URI %q: Path %q Query %q, want %q %q", tt.uri, p, q, tt.path, tt.query)
		}
	}
}

// FuzzParseTarget checks the parser against net/url on the targets both
// accept, and that every accepted target rebuilds from its parts.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"/", "/p?u=http://x/a", "http://h/p?q", "HTTP://h", "//evil.example/",
		"*", "h:443", "http://[::1]:80/a?b", "/a%2Fb?c=%zz", "http://u@h/", "/p?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			if tg != (Target{}) {
				t.Fatalf("%q: error %v with parts %+v", s, err, tg)
			}
			return
		}
		var rebuilt string
		switch tg.Form {
		case FormOrigin:
			rebuilt = tg.PathQuery
		case FormAbsolute:
			rebuilt = tg.Scheme + "://" + tg.Authority + tg.PathQuery
		case FormAuthority:
			rebuilt = tg.Authority
		case FormAsterisk:
			rebuilt = "*"
		}
		if rebuilt != s {
			t.Fatalf("%q rebuilt as %q from %+v", s, rebuilt, tg)
		}
		pq := tg.Path
		if tg.HasQuery {
			pq += "?" + tg.Query
		}
		if pq != tg.PathQuery || strings.IndexByte(tg.Path, '?') >= 0 {
			t.Fatalf("%q: path %q query %q path+query %q", s, tg.Path, tg.Query, tg.PathQuery)
		}
		if tg.Form != FormOrigin && tg.Form != FormAbsolute {
			return
		}
		u, err := url.ParseRequestURI(s)
		if err != nil {
			return // net/url is stricter on escapes and ports
		}
		host, _ := url.PathUnescape(tg.Authority) // net/url decodes the host
		if tg.Form == FormAbsolute && (!strings.EqualFold(u.Scheme, tg.Scheme) || u.Host != host) {
			t.Fatalf("%q: scheme %q host %q, net/url %q %q", s, tg.Scheme, tg.Authority, u.Scheme, u.Host)
		}
		if tg.Form == FormOrigin && (u.Scheme != "" || u.Host != "") {
			t.Fatalf("%q: origin-form, net/url found scheme %q host %q", s, u.Scheme, u.Host)
		}
		if p, err := url.PathUnescape(tg.Path); err != nil || p != u.Path {
			t.Fatalf("%q: path %q (%q), net/url %q", s, tg.Path, p, u.Path)
		}
		if tg.Query != u.RawQuery {
			t.Fatalf("%q: query %q, net/url %q", s, tg.Query, u.RawQuery)
		}
	})
}
