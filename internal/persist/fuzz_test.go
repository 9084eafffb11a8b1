package persist

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// FuzzRequestCookie feeds client Cookie headers (untrusted input) to each
// mode: no panic, nothing grows, the value handed to the server lookup
// comes from the header, and what insert+indirect forwards holds no
// persistence cookie any more.
func FuzzRequestCookie(f *testing.F) {
	for _, s := range []string{
		"SRV=s1", "a=b; SRV=s1; c=d", "SRV = s1 ; $Path=/", `x="a;b\"c"; SRV=s1|AAAAA|BBBBB`,
		"SRV=s1~app, SRV=s2", ";;;", "SRV", "=", "SRV=|", "SRV=s1|\x00\x01\x02\x03\x04|", " \t;SRV=\t", "$SRV=s1; SRV=s1",
	} {
		f.Add(s)
	}
	modes := []*Cookie{
		New(&config.Cookie{Name: "SRV", Mode: "insert", Indirect: true, MaxIdle: 60e9, MaxLife: 3600e9}),
		New(&config.Cookie{Name: "SRV", Mode: "prefix"}),
		New(&config.Cookie{Name: "SRV", Mode: "rewrite"}),
		New(&config.Cookie{Name: "SRV"}),
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range modes {
			var h httpmsg.Headers
			h.Add("Cookie", v)
			var st State
			k.Request(&h, &st, 1_800_000_000, func(value string) Choice {
				if !strings.Contains(v, value) {
					t.Fatalf("value %q is not from the header %q", value, v)
				}
				if value == "s1" {
					return ChoseUp
				}
				return NoServer
			})
			if len(h) > 1 || (len(h) == 1 && len(h[0].Value) > len(v)) {
				t.Fatalf("mode %d: %q became %q", k.Mode, v, h)
			}
			if k.Mode == Insert && len(h) == 1 {
				var again State
				k.Request(&h, &again, 1_800_000_000, func(string) Choice { return NoServer })
				if again.Req != 0 {
					t.Fatalf("%q forwarded as %q still holds the cookie (%c)", v, h[0].Value, again.Req)
				}
			}
		}
	})
}

// FuzzSetCookie feeds server Set-Cookie headers through each mode: no
// panic, and insert mode leaves exactly its own cookie.
func FuzzSetCookie(f *testing.F) {
	for _, s := range []string{"SRV=x; path=/", "SRV = x ;", "a=b", "SRV", "SRV=", `SRV="a;b"; Secure`} {
		f.Add(s)
	}
	ins := New(&config.Cookie{Name: "SRV", Mode: "insert"})
	others := []*Cookie{New(&config.Cookie{Name: "SRV", Mode: "prefix"}), New(&config.Cookie{Name: "SRV", Mode: "rewrite"})}
	f.Fuzz(func(t *testing.T, v string) {
		var h httpmsg.Headers
		h.Add("Set-Cookie", v)
		var st State
		ins.Response(&h, &st, Response{Now: 1_800_000_000, Server: true, Value: "s1", Method: "GET", Status: 200})
		n := 0
		for _, c := range h.Values(nil, "Set-Cookie") {
			if strings.HasPrefix(c, "SRV=") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%q: %d SRV cookies in %q", v, n, h)
		}
		for _, k := range others {
			var h httpmsg.Headers
			h.Add("Set-Cookie", v)
			var st State
			k.Response(&h, &st, Response{Now: 1_800_000_000, Server: true, Value: "s1", Method: "GET", Status: 200})
			if len(h) != 1 || len(h[0].Value) > len(v)+3 {
				t.Fatalf("mode %d: %q became %q", k.Mode, v, h)
			}
		}
	})
}
