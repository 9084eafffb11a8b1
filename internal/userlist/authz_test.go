package userlist

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseAuthorizationValue(t *testing.T) {
	for _, c := range []struct {
		v          string
		scheme     Scheme
		user, pass string
		data       string
	}{
		{v: "Basic " + b64("alice:secret"), scheme: SchemeBasic, user: "alice", pass: "secret"},
		{v: "basic " + b64("alice:secret"), scheme: SchemeBasic, user: "alice", pass: "secret"},
		{v: "BASIC    " + b64("alice:secret") + " ", scheme: SchemeBasic, user: "alice", pass: "secret"},
		{v: "Basic " + b64("alice:se:cr:et"), scheme: SchemeBasic, user: "alice", pass: "se:cr:et"},
		{v: "Basic " + b64(":"), scheme: SchemeBasic},
		{v: "Basic " + b64("a:"), scheme: SchemeBasic, user: "a"},
		{v: "Basic " + b64("é:ü"), scheme: SchemeBasic, user: "é", pass: "ü"},
		{v: "Basic " + b64("ab:c"), scheme: SchemeBasic, user: "ab", pass: "c"},   // one '='
		{v: "Basic " + b64("ab:cd"), scheme: SchemeBasic, user: "ab", pass: "cd"}, // no padding
		{v: "Basic YWI6Yx==", scheme: SchemeBasic, user: "ab", pass: "c"},         // non-zero spare bits, as HAProxy
		{v: "Bearer abc.def.ghi", scheme: SchemeBearer, data: "abc.def.ghi"},
		{v: "bearer   tok", scheme: SchemeBearer, data: "tok"},

		// Refused.
		{v: ""},
		{v: "Basic"},
		{v: "Basic "},
		{v: " Basic " + b64("a:b")[1:]},
		{v: "Bas " + b64("alice:secret")},                   // HAProxy's prefix match: not here
		{v: "Basicx " + b64("alice:secret")},                // another scheme
		{v: "Basic\t" + b64("alice:secret")},                // the scheme ends at a space
		{v: "Basic " + b64("alicesecret")},                  // no colon
		{v: "Basic " + b64("alice\x00:secret")},             // NUL
		{v: "Basic " + b64("alice:sec\x00ret")},             // NUL
		{v: "Basic " + b64("alice:secret")[:7]},             // not a multiple of 4
		{v: "Basic " + strings.TrimRight(b64("ab:c"), "=")}, // padding missing
		{v: "Basic YW=6Yw=="},                               // padding inside
		{v: "Basic Y==="},                                   // too much padding
		{v: "Basic ===="},
		{v: "Basic YWI6Y\n=="},
		{v: "Basic YWI6-_8="}, // URL alphabet
		{v: "Basic " + b64("a:b") + ", Basic " + b64("c:d")},
		{v: "Basic " + b64("a:b") + " x"},
		{v: "Basic " + b64("a:"+strings.Repeat("x", MaxCredentials))},
		{v: "Digest username=\"a\""},
		{v: "Negotiate abc"},
	} {
		a, _ := ParseAuthorizationValue(c.v, nil)
		if a.Scheme != c.scheme || string(a.User) != c.user || string(a.Pass) != c.pass || (c.scheme == SchemeBearer && a.Data != c.data) {
			t.Errorf("%q: got scheme %v user %q pass %q data %q; want %v %q %q %q", c.v, a.Scheme, a.User, a.Pass, a.Data, c.scheme, c.user, c.pass, c.data)
		}
	}
}

func TestParseAuthorizationHeaders(t *testing.T) {
	good := "Basic " + b64("alice:secret")
	if a, _ := ParseAuthorization(httpmsg.Headers{{Name: "authorization", Value: good}}, nil); a.Scheme != SchemeBasic {
		t.Errorf("one header: %v", a.Scheme)
	}
	if a, _ := ParseAuthorization(httpmsg.Headers{{Name: "Authorization", Value: good}, {Name: "AUTHORIZATION", Value: good}}, nil); a.Scheme != SchemeNone {
		t.Errorf("two headers must give no credentials, got %v", a.Scheme)
	}
	if a, _ := ParseAuthorization(httpmsg.Headers{{Name: "Proxy-Authorization", Value: good}}, nil); a.Scheme != SchemeNone {
		t.Errorf("Proxy-Authorization is not read: %v", a.Scheme)
	}
}

func TestParseReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	v := "Basic " + b64("alice:secret")
	allocs := testing.AllocsPerRun(100, func() {
		var a Authorization
		a, buf = ParseAuthorizationValue(v, buf[:0])
		if a.Scheme != SchemeBasic {
			t.Fatal("not parsed")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per parse with a buffer", allocs)
	}
}

// FuzzParseAuthorization: whatever the header, the parser neither panics
// nor returns credentials that do not round-trip: Basic credentials are
// exactly the base64 of "user:pass", with no NUL and user without ':'.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Basic " + b64("alice:secret"), "Bearer x", "Basic ", "Basic YWI6Yx==", "Basic Y===",
		"basic  " + b64("a:b:c"), "Basic " + b64("\x00:"), "Basic " + b64("a:b") + ",x", "B " + b64("a:b")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a, _ := ParseAuthorizationValue(v, nil)
		switch a.Scheme {
		case SchemeBasic:
			cred := string(a.User) + ":" + string(a.Pass)
			if strings.ContainsRune(cred, 0) || strings.ContainsRune(string(a.User), ':') {
				t.Fatalf("%q: bad credentials %q", v, cred)
			}
			// Go's non-strict decoder, like HAProxy's, ignores spare bits.
			dec, err := base64.StdEncoding.DecodeString(a.Data)
			if err != nil || string(dec) != cred {
				t.Fatalf("%q: decoded %q, credentials %q", v, dec, cred)
			}
			if len(a.Data) > MaxCredentials || !strings.HasPrefix(strings.ToLower(strings.TrimLeft(v, " \t")), "basic ") {
				t.Fatalf("%q: accepted", v)
			}
		case SchemeBearer:
			if a.Data == "" || strings.Contains(v, ",") {
				t.Fatalf("%q: bearer %q", v, a.Data)
			}
		}
	})
}
