package persist

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestResponseCookies(t *testing.T) {
	now := int64(1_800_000_000)
	date := func(v int64) string { var d [5]byte; return string(s30ToB64(&d, int32(v))) }
	for _, c := range []struct {
		name   string
		cfg    config.Cookie
		st     State
		method string
		status int
		value  string
		in     []string // Set-Cookie from the server
		extra  []string // other response headers, "name: value"
		out    []string // Set-Cookie to the client
		flag   byte
		cc     string // Cache-control added
	}{
		{name: "insert", cfg: config.Cookie{Name: "SRV", Mode: "insert"}, value: "s1",
			out: []string{"SRV=s1; path=/"}, flag: RespInserted},
		{name: "insert attributes", cfg: config.Cookie{Name: "SRV", Mode: "insert", HTTPOnly: true, Secure: true, Domains: []string{".a.com", ".b.com"}, Attrs: []string{"SameSite=Lax", "Partitioned"}}, value: "s1",
			out: []string{"SRV=s1; path=/; domain=.a.com; domain=.b.com; HttpOnly; Secure; SameSite=Lax; Partitioned"}, flag: RespInserted},
		{name: "insert replaces the server's", cfg: config.Cookie{Name: "SRV", Mode: "insert"}, value: "s1",
			in: []string{"SRV=mine; path=/", "app=1"}, out: []string{"app=1", "SRV=s1; path=/"}, flag: RespInserted},
		{name: "insert preserve keeps the server's", cfg: config.Cookie{Name: "SRV", Mode: "insert", Preserve: true}, value: "s1",
			in: []string{"SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT"}, out: []string{"SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT"}, flag: RespPassed},
		{name: "direct: nothing to insert", cfg: config.Cookie{Name: "SRV", Mode: "insert"}, st: State{Direct: true}, value: "s1", flag: 0},
		{name: "backup without cookie clears", cfg: config.Cookie{Name: "SRV", Mode: "insert"}, value: "",
			out: []string{"SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"}, flag: RespInserted},
		{name: "postonly skips GET", cfg: config.Cookie{Name: "SRV", Mode: "insert", PostOnly: true}, method: "GET", value: "s1", flag: 0},
		{name: "postonly inserts on POST", cfg: config.Cookie{Name: "SRV", Mode: "insert", PostOnly: true}, method: "POST", value: "s1",
			out: []string{"SRV=s1; path=/"}, flag: RespInserted},
		{name: "nocache on a cacheable answer", cfg: config.Cookie{Name: "SRV", Mode: "insert", NoCache: true}, value: "s1", extra: []string{"Expires: Thu, 01 Jan 2099 00:00:00 GMT"},
			out: []string{"SRV=s1; path=/"}, flag: RespInserted, cc: "private"},
		{name: "nocache with max-age", cfg: config.Cookie{Name: "SRV", Mode: "insert", NoCache: true}, value: "s1", extra: []string{"ETag: x"},
			out: []string{"SRV=s1; path=/"}, flag: RespInserted, cc: "private"},
		{name: "nocache without a lifetime", cfg: config.Cookie{Name: "SRV", Mode: "insert", NoCache: true}, value: "s1", extra: []string{"Cache-Control: public"},
			out: []string{"SRV=s1; path=/"}, flag: RespInserted},
		{name: "nocache on a private answer", cfg: config.Cookie{Name: "SRV", Mode: "insert", NoCache: true}, value: "s1", extra: []string{"Cache-Control: private, max-age=10"},
			out: []string{"SRV=s1; path=/"}, flag: RespInserted},
		{name: "nocache on a 302", cfg: config.Cookie{Name: "SRV", Mode: "insert", NoCache: true}, status: 302, value: "s1",
			out: []string{"SRV=s1; path=/"}, flag: RespInserted},
		{name: "maxidle dates", cfg: config.Cookie{Name: "SRV", Mode: "insert", MaxIdle: time.Hour}, value: "s1",
			out: []string{"SRV=s1|" + date((now+3)>>2) + "; path=/"}, flag: RespInserted},
		{name: "maxlife keeps the first date", cfg: config.Cookie{Name: "SRV", Mode: "insert", MaxIdle: time.Hour, MaxLife: 8 * time.Hour},
			st: State{Direct: true, last: uint32(now - 100), first: uint32(now - 1000)}, value: "s1",
			out: []string{"SRV=s1|" + date((now+3)>>2) + "|" + date((now-1000)>>2) + "; path=/"}, flag: RespUpdated},
		{name: "rewrite", cfg: config.Cookie{Name: "SRV", Mode: "rewrite"}, value: "s1",
			in: []string{"SRV = app ; path=/", "x=y"}, out: []string{"SRV=s1 ; path=/", "x=y"}, flag: RespRewrote},
		{name: "rewrite without a server cookie", cfg: config.Cookie{Name: "SRV", Mode: "rewrite"}, value: "s1",
			out: nil, flag: 0},
		{name: "prefix", cfg: config.Cookie{Name: "JSESSIONID", Mode: "prefix"}, value: "s1",
			in: []string{"JSESSIONID=abc; path=/"}, out: []string{"JSESSIONID=s1~abc; path=/"}, flag: RespRewrote},
		{name: "indirect direct deletes", cfg: config.Cookie{Name: "SRV", Mode: "prefix", Indirect: true}, st: State{Direct: true}, value: "s1",
			in: []string{"SRV=abc"}, out: nil, flag: RespDeleted},
		{name: "ignored", cfg: config.Cookie{Name: "SRV", Mode: "insert"}, st: State{Ignore: true}, value: "s1",
			in: []string{"SRV=abc"}, out: []string{"SRV=abc"}, flag: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := New(&c.cfg)
			var h httpmsg.Headers
			for _, e := range c.extra {
				n, v, _ := strings.Cut(e, ": ")
				h.Add(n, v)
			}
			for _, v := range c.in {
				h.Add("Set-Cookie", v)
			}
			if c.method == "" {
				c.method = "GET"
			}
			if c.status == 0 {
				c.status = 200
			}
			st := c.st
			k.Response(&h, &st, Response{Now: now, Server: true, Value: c.value, Method: c.method, Status: c.status})
			got := h.Values(nil, "Set-Cookie")
			if strings.Join(got, "\n") != strings.Join(c.out, "\n") {
				t.Fatalf("Set-Cookie %q, want %q", got, c.out)
			}
			if st.Resp != c.flag {
				t.Errorf("flag %q, want %q", st.Resp, c.flag)
			}
			if cc, _ := h.Get("Cache-control"); c.cc != "" && cc != c.cc {
				t.Errorf("Cache-control %q, want %q", cc, c.cc)
			}
			if c.cc == "" && len(h.Values(nil, "Cache-control")) > strings.Count(strings.Join(c.extra, "\n"), "Cache-Control") {
				t.Errorf("unexpected Cache-control %q", h.Values(nil, "Cache-control"))
			}
		})
	}
}

func TestMaxIdleMaxLife(t *testing.T) {
	now := int64(1_800_000_000)
	var d1, d2 [5]byte
	cookie := func(last, first int64) string {
		return "SRV=s1|" + string(s30ToB64(&d1, int32(last>>2))) + "|" + string(s30ToB64(&d2, int32(first>>2)))
	}
	k := New(&config.Cookie{Name: "SRV", Mode: "insert", MaxIdle: 30 * time.Minute, MaxLife: 8 * time.Hour})
	for _, c := range []struct {
		name string
		v    string
		flag byte
	}{
		{"fresh", cookie(now-60, now-3600), ReqValid},
		{"idle too long", cookie(now-3600, now-3600), ReqExpired},
		{"too old", cookie(now-60, now-9*3600), ReqOld},
		{"from the future", cookie(now+2*86400, now-60), ReqExpired},
		{"no date", "SRV=s1", ReqValid},
		{"bad date", "SRV=s1|!!!!!", ReqValid},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h httpmsg.Headers
			h.Add("Cookie", c.v)
			var st State
			k.Request(&h, &st, now, servers{"s1": true}.choose(false))
			if st.Req != c.flag {
				t.Errorf("flag %q, want %q", st.Req, c.flag)
			}
		})
	}
}
