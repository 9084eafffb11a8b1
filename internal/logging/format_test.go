package logging

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// fakeSampler returns a fixed value; "" with ok=false models a fetch that
// found nothing.
type fakeSampler struct {
	val string
	ok  bool
}

func (f fakeSampler) AppendString(dst []byte, _ *acl.Txn) ([]byte, bool) {
	if !f.ok {
		return dst, false
	}
	return append(dst, f.val...), true
}

// fakeExprs compiles the expressions it knows; others fail like acl would.
func fakeExprs(known map[string]string) ExprCompiler {
	return func(src string, pos config.Pos) (Sampler, error) {
		if src == "missing" {
			return fakeSampler{}, nil
		}
		v, ok := known[src]
		if !ok {
			return nil, errors.New("unknown fetch method '" + src + "'")
		}
		return fakeSampler{val: v, ok: true}, nil
	}
}

var testPos = config.Pos{File: "gatehouse.cfg", Line: 42}

func mustCompile(t testing.TB, f string, ex ExprCompiler) *Format {
	t.Helper()
	cf, err := Compile(f, testPos, ex)
	if err != nil {
		t.Fatalf("Compile(%q): %v", f, err)
	}
	return cf
}

// docHTTPContext is the request of the "option httplog" example of
// configuration.txt 8.2.3:
//
//	haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in \
//	  static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} \
//	  {} "GET /index.html HTTP/1.1"
func docHTTPContext() *Context {
	c := NewContext()
	c.Txn = &acl.Txn{Req: &httpmsg.Request{Method: "GET", URI: "/index.html", Proto: "HTTP/1.1"}}
	c.Client = netip.MustParseAddrPort("10.0.1.2:33317")
	c.FrontendAddr = netip.MustParseAddrPort("10.0.3.31:8012")
	c.FrontendName, c.BackendName, c.ServerName = "http-in", "static", "srv1"
	c.AcceptTime = time.Date(2009, time.February, 6, 12, 14, 14, 655_000_000, time.UTC)
	c.Th, c.Ti = 0, 0
	c.TR, c.Tw, c.Tc, c.Tr, c.Tt = 10, 0, 30, 69, 109
	c.Status, c.BytesOut = 200, 2750
	c.ActConn, c.FeConn, c.BeConn, c.SrvConn, c.Retries = 1, 1, 1, 1, 0
	c.ReqCaptures = append(c.ReqCaptures, "1wt.eu")
	c.ResCaptures = append(c.ResCaptures, "")
	return c
}

// docTCPContext is the "option tcplog" example of configuration.txt 8.2.2:
//
//	haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt \
//	  bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0
func docTCPContext() *Context {
	c := NewContext()
	c.Mode = config.ModeTCP
	c.Client = netip.MustParseAddrPort("10.0.1.2:33313")
	c.FrontendName, c.BackendName, c.ServerName = "fnt", "bck", "srv1"
	c.AcceptTime = time.Date(2009, time.February, 6, 12, 12, 51, 443_000_000, time.UTC)
	c.Th, c.Tw, c.Tc, c.Tt = 0, 0, 0, 5007
	c.BytesOut = 212
	c.Retries = 3
	return c
}

func TestGoldenDocExamples(t *testing.T) {
	https := docHTTPContext()
	https.Client = netip.MustParseAddrPort("192.168.50.1:61818")
	https.AcceptTime = time.Date(2021, time.January, 27, 21, 52, 56, 86_000_000, time.UTC)
	https.FrontendName, https.FrontendSSL, https.BackendName, https.ServerName = "fe_main", true, "be_servers", "s1"
	https.TR, https.Tw, https.Tc, https.Tr, https.Tt = 0, 0, 1, 1, 2
	https.BytesOut = 517
	https.ActConn, https.FeConn, https.BeConn, https.SrvConn = 1, 1, 0, 0
	https.Txn.Req.URI = "/"
	https.SSLVersion, https.SSLCipher = "TLSv1.3", "TLS_AES_256_GCM_SHA384"
	tlsFetches := map[string]string{
		"fc_err": "0", "ssl_fc_err,hex": "0", "ssl_c_err": "0", "ssl_c_ca_err": "0",
		"ssl_fc_is_resumed": "0", "ssl_fc_sni": "1wt.eu",
	}

	tests := []struct {
		name, format string
		ctx          *Context
		want         string
	}{
		{"httplog", HTTPLogFormat, docHTTPContext(),
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`},
		{"tcplog", TCPLogFormat, docTCPContext(),
			`10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0`},
		{"httpslog", HTTPSLogFormat, https,
			`192.168.50.1:61818 [27/Jan/2021:21:52:56.086] fe_main~ be_servers/s1 0/0/1/1/2 200 517 - - ---- 1/1/0/0/0 0/0 {1wt.eu} {} "GET / HTTP/1.1" 0/0/0/0/0 1wt.eu/TLSv1.3/TLS_AES_256_GCM_SHA384`},
		{"clf", CLFLogFormat, docHTTPContext(),
			`10.0.1.2 - - [06/Feb/2009:12:14:14 +0000] "GET /index.html HTTP/1.1" 200 2750 "" "" 33317 655 "http-in" "static" "srv1" 10 0 30 69 109 ---- 1 1 1 1 0 0 0 "" "" "1wt.eu" ""`},
		{"clf tcp", CLFTCPLogFormat, docTCPContext(),
			`10.0.1.2 - - [06/Feb/2009:12:12:51 +0000] "TCP " 000 212 "" "" 33313 443 "fnt" "bck" "srv1" 0 0 0 5007 0 ---- 0 0 0 0 3 0 0 "" "" `},
		{"httplog without captures has no double space", HTTPLogFormat, func() *Context {
			c := docHTTPContext()
			c.ReqCaptures, c.ResCaptures = nil, nil
			return c
		}(),
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"`},
		{"httplog server timeout before headers", HTTPLogFormat, func() *Context {
			c := docHTTPContext()
			c.Tr, c.Tt, c.Status, c.BytesOut, c.Term = -1, 50040, 504, 194, TermServerTimeoutHdrs
			c.Retries, c.Redispatched = 1, true
			return c
		}(),
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/-1/50040 504 194 - - sH-- 1/1/1/1/+1 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`},
		{"httplog bad request", HTTPLogFormat, func() *Context {
			c := NewContext()
			c.Client = netip.MustParseAddrPort("[2001:db8::1]:40000")
			c.FrontendName = "fe"
			c.AcceptTime = time.Date(2026, time.November, 21, 19, 22, 33, 123_000_000, time.UTC)
			c.Th, c.Ti, c.Tt, c.Status, c.BytesOut, c.Term = 0, 0, 5, 400, 187, TermDenied
			return c
		}(),
			`2001:db8::1:40000 [21/Nov/2026:19:22:33.123] fe fe/<NOSRV> -1/-1/-1/-1/5 400 187 - - PR-- 0/0/0/0/0 0/0 "<BADREQ>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustCompile(t, tt.format, fakeExprs(tlsFetches))
			got := string(f.Append(nil, tt.ctx))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestEveryVariable(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	c := docHTTPContext()
	c.Mode = config.ModeHTTP
	c.AcceptTime = time.Date(2026, time.November, 21, 19, 22, 33, 7_000_000, loc)
	c.Th, c.Ti, c.Tt = 3, 1000, 1120
	c.BackendSrc = netip.MustParseAddrPort("10.1.0.5:50123")
	c.ServerAddr = netip.MustParseAddrPort("10.1.0.9:8443")
	c.FrontendSSL = true
	c.BytesIn = 321
	c.Term = TermClientAbortData
	c.SrvQueue, c.BeQueue = 4, 5
	c.ReqCookie, c.ResCookie = "a=b", "c=d"
	c.UniqueID = "7F000001:C3A6_0A000001:01BB_6923A5D9_0001:2A"
	c.SSLVersion, c.SSLCipher = "TLSv1.3", "TLS_AES_128_GCM_SHA256"
	c.ReqCounter, c.LogCounter = 17, 9
	c.PID, c.Hostname = 4242, "gh1"
	c.ReqCaptures = append(c.ReqCaptures[:0], "example.com", "")
	c.ResCaptures = append(c.ResCaptures[:0], "x{y}")
	c.Txn.Req = &httpmsg.Request{Method: "POST", URI: "http://example.com/a/b?x=1&y=2", Proto: "HTTP/1.1"}

	tests := []struct{ v, want string }{
		{"%ci", "10.0.1.2"}, {"%cp", "33317"},
		{"%fi", "10.0.3.31"}, {"%fp", "8012"},
		{"%bi", "10.1.0.5"}, {"%bp", "50123"},
		{"%si", "10.1.0.9"}, {"%sp", "8443"},
		{"%t", "21/Nov/2026:19:22:33.007"},
		{"%T", "21/Nov/2026:18:22:33 +0000"},
		{"%Tl", "21/Nov/2026:19:22:33 +0100"},
		{"%tr", "21/Nov/2026:19:22:34.010"},
		{"%trg", "21/Nov/2026:18:22:34 +0000"},
		{"%trl", "21/Nov/2026:19:22:34 +0100"},
		{"%Ts", "1795285353"}, {"%{+X}Ts", "6B01E169"},
		{"%ms", "007"}, {"%{+X}ms", "07"},
		{"%f", "http-in"}, {"%ft", "http-in~"}, {"%b", "static"}, {"%s", "srv1"},
		{"%Th", "3"}, {"%Ti", "1000"}, {"%TR", "10"}, {"%Tq", "1013"},
		{"%Tw", "0"}, {"%Tc", "30"}, {"%Tr", "69"},
		{"%Tt", "1120"}, {"%Ta", "117"}, {"%Tu", "120"}, {"%Td", "8"},
		{"%ST", "200"}, {"%B", "2750"}, {"%U", "321"},
		{"%CC", "a=b"}, {"%CS", "c=d"},
		{"%ts", "CD"}, {"%tsc", "CD--"},
		{"%ac", "1"}, {"%fc", "1"}, {"%bc", "1"}, {"%sc", "1"}, {"%rc", "0"},
		{"%sq", "4"}, {"%bq", "5"},
		{"%hr", "{example.com|}"}, {"%hs", "{x#7By#7D}"},
		{"%hrl", "example.com -"}, {"%hsl", "x#7By#7D"},
		{"%r", "POST http://example.com/a/b?x=1&y=2 HTTP/1.1"},
		{"%HM", "POST"}, {"%HU", "http://example.com/a/b?x=1&y=2"},
		{"%HP", "http://example.com/a/b"}, {"%HPO", "/a/b"},
		{"%HQ", "?x=1&y=2"}, {"%HV", "HTTP/1.1"},
		{"%ID", "7F000001:C3A6_0A000001:01BB_6923A5D9_0001:2A"},
		{"%pid", "4242"}, {"%{+X}pid", "1092"},
		{"%H", "gh1"}, {"%rt", "17"}, {"%{+X}rt", "0011"}, {"%lc", "9"},
		{"%sslv", "TLSv1.3"}, {"%sslc", "TLS_AES_128_GCM_SHA256"},
		{"%{+X}ci", "0A000102"}, {"%{+X}cp", "8225"},
		{"%%", "%"}, {"100%%", "100%"},
		{"%[missing]", "-"}, {"%{+Q}[missing]", `""`}, {"%[host]", "example.com"},
		{"%{+Q}[host]", `"example.com"`}, {"%{+E}[brackets]", `a\]b\"c\\`},
		{"%{+json}[brackets]", `"a]b\"c\\"`},
	}
	ex := fakeExprs(map[string]string{"host": "example.com", "brackets": `a]b"c\`})
	seen := map[string]bool{}
	for _, tt := range tests {
		f := mustCompile(t, tt.v, ex)
		if got := string(f.Append(nil, c)); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.v, got, tt.want)
		}
		seen[strings.TrimPrefix(tt.v, "%")] = true
	}
	for _, v := range Variables() {
		if v.Name != "o" && !seen[v.Name] {
			t.Errorf("variable %%%s has no test", v.Name)
		}
	}
}

func TestTimersUnset(t *testing.T) {
	c := NewContext()
	f := mustCompile(t, "%Th/%Ti/%TR/%Tq/%Tw/%Tc/%Tr/%Td/%Ta/%Tt/%Tu %ST", nil)
	if got, want := string(f.Append(nil, c)), "-1/-1/-1/-1/-1/-1/-1/-1/-1/-1/-1 -1"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	// HTTP: Td from Tt when the response headers arrived.
	c.Th, c.Ti, c.TR, c.Tw, c.Tc, c.Tr, c.Tt = 0, 2, 5, 1, 2, 10, 40
	if got, want := string(f.Append(nil, c)), "0/2/5/7/1/2/10/20/38/40/38 -1"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	// TCP: Td counts from the connection.
	c.Mode, c.Ti, c.TR, c.Tr = config.ModeTCP, -1, -1, -1
	if got, want := string(f.Append(nil, c)), "0/-1/-1/-1/1/2/-1/37/40/40/40 -1"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestModifiers(t *testing.T) {
	c := docHTTPContext()
	c.Client = netip.MustParseAddrPort("[::ffff:10.0.0.1]:443")
	c.Txn.Req = &httpmsg.Request{Method: "GET", URI: "/q?a=\"b\"#frag\x01é", Proto: "HTTP/1.1"}
	c.ReqCaptures = append(c.ReqCaptures[:0], "a|b", "tab\there")
	c.FrontendName = `fe"x`
	tests := []struct{ format, want string }{
		{"%ci", "::ffff:10.0.0.1"},
		{"%{+X}ci", "00000000000000000000FFFF0A000001"},
		{"%{+Q}ci", `"::ffff:10.0.0.1"`},
		{"%{+Q}o %ci %{-Q}cp %b", `"::ffff:10.0.0.1" 443 "static"`},
		{"%{+Q}r", `"GET /q?a=#22b#22#23frag#01#C3#A9 HTTP/1.1"`},
		{"%{+Q}HU", `"/q?a=#22b#22#23frag#01#C3#A9"`},
		{"%HQ", `?a=#22b#22#23frag#01#C3#A9`},
		{"%hr", `{a#7Cb|tab#09here}`},
		{"%{+Q}hr", `"{a#7Cb|tab#09here}"`},
		{"%{+Q}hrl", `"a#7Cb" "tab#09here"`},
		{"%{+Q}ft", `"fe"x"`},
		{"%{+E}f", `fe\"x`},
		{"%{+Q,+E}f", `"fe\"x"`},
		{"%{+Q}ST %{+Q}ts", `200 --`},
		{"%{+json}f %{+json}ST %{+json}ts %{+json}ID", `"fe\"x" 200 "--" null`},
		{"%{+json}r", `"GET /q?a=\"b\"#frag\u0001é HTTP/1.1"`},
		{"%{+json}hr", `["a|b","tab\there"]`},
		{"  a   b  ", "a b "},
		{"%hs %hs x", "{} {} x"},
		{"[%CC]", "[-]"},
	}
	for _, tt := range tests {
		f := mustCompile(t, tt.format, nil)
		if got := string(f.Append(nil, c)); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.format, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{"%ci %foo", "parsing [gatehouse.cfg:42] : failed to parse log-format : no such format variable 'foo'. If you wanted to emit the '%' character verbatim, you need to use '%%'"},
		{"%Tx", "no such format variable 'Tx'"},
		{"100%", "unexpected end of format string after '%'"},
		{"% x", "unexpected character ' ' after '%'"},
		{"%{+Q ci", "missing '}'"},
		{"%{+Z}ci", "unknown flag '+Z'"},
		{"%{Q}ci", "invalid flag 'Q'"},
		{"%[req.hdr(host)", "missing ']'"},
		{"%[]", "empty sample expression"},
		{"%[nosuch]", "failed to parse sample expression <nosuch> : unknown fetch method 'nosuch'"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.format, testPos, fakeExprs(nil))
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want error %q", tt.format, tt.want)
			continue
		}
		var d config.Diag
		if !errors.As(err, &d) || d.Pos != testPos {
			t.Errorf("Compile(%q) error %v is not a config.Diag at %v", tt.format, err, testPos)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) = %q, want it to contain %q", tt.format, err, tt.want)
		}
	}
	if _, err := Compile("%[src]", testPos, nil); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("%%[..] without a compiler: %v", err)
	}
}

func TestJSONPreset(t *testing.T) {
	c := docHTTPContext()
	c.Txn.Req.URI = "/x?q=\"quoted\"\\\x00\xff"
	c.Redispatched, c.Retries = true, 2
	f := mustCompile(t, JSONLogFormat, nil)
	line := f.Append(nil, c)
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	checks := map[string]any{
		"time": "06/Feb/2009:12:14:14.655", "client_ip": "10.0.1.2", "client_port": 33317.0,
		"frontend": "http-in", "backend": "static", "server": "srv1", "status": 200.0,
		"bytes_read": 2750.0, "termination_state": "----", "retries": 2.0,
		"request": "GET /x?q=\"quoted\"\\\x00\ufffd HTTP/1.1", "request_id": nil,
	}
	for k, want := range checks {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if tm := m["timers"].(map[string]any); tm["Tr"] != 69.0 || tm["Ta"] != 109.0 {
		t.Errorf("timers = %v", tm)
	}
}

func TestCaptureHelpers(t *testing.T) {
	caps := []*config.Capture{
		{Name: "Host", Len: 5},
		{Name: "X-Missing", Len: 10},
		{Name: "Server", Len: 20, Response: true},
	}
	c := NewContext()
	c.CaptureRequest(caps, httpmsg.Headers{{Name: "host", Value: "first.example"}, {Name: "HOST", Value: "last.example"}})
	c.CaptureResponse(caps, httpmsg.Headers{{Name: "Server", Value: "nginx"}})
	f := mustCompile(t, "%hr %hs", nil)
	if got, want := string(f.Append(nil, c)), "{last.|} {nginx}"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	c.Reset()
	if len(c.ReqCaptures) != 0 || c.Status != -1 || c.Tt != -1 {
		t.Errorf("Reset left %+v", c)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	c := docHTTPContext()
	f := mustCompile(t, HTTPLogFormat+" %{+Q}[host] %{+json}r", fakeExprs(map[string]string{"host": "h"}))
	buf := make([]byte, 0, 1024)
	buf = f.Append(buf[:0], c)
	if n := testing.AllocsPerRun(100, func() { buf = f.Append(buf[:0], c) }); n != 0 {
		t.Errorf("Append allocates %v times per line", n)
	}
}

func BenchmarkAppendHTTPLog(b *testing.B) {
	c := docHTTPContext()
	f := mustCompile(b, HTTPLogFormat, nil)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], c)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendJSON(b *testing.B) {
	c := docHTTPContext()
	f := mustCompile(b, JSONLogFormat, nil)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], c)
	}
	b.SetBytes(int64(len(buf)))
}

func TestProxyLogFormat(t *testing.T) {
	tests := []struct {
		p    config.Proxy
		want string
	}{
		{config.Proxy{LogFormat: "%ci"}, "%ci"},
		{config.Proxy{HTTPLog: true}, HTTPLogFormat},
		{config.Proxy{HTTPSLog: true}, HTTPSLogFormat},
		{config.Proxy{Mode: config.ModeTCP, HTTPLog: true}, TCPLogFormat},
		{config.Proxy{Mode: config.ModeTCP, TCPLog: true}, TCPLogFormat},
		{config.Proxy{}, ""},
	}
	for _, tt := range tests {
		if got := ProxyLogFormat(&tt.p); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestASAPMarksAndFailed: with "option logasap" %B %Tt %Ta %Tu carry '+'
// (never in JSON), and Failed follows HAProxy's strm_log.
func TestASAPMarksAndFailed(t *testing.T) {
	f, err := Compile("%B %Tt %Ta %Tu %U %Tr", config.Pos{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := NewContext()
	c.BytesOut, c.BytesIn, c.Tt, c.Ta, c.Ti, c.Th, c.Tr = 10, 5, 7, 6, 1, 0, 2
	if got := string(f.Append(nil, c)); got != "10 7 6 6 5 2" {
		t.Errorf("without logasap: %q", got)
	}
	c.ASAP = true
	if got := string(f.Append(nil, c)); got != "+10 +7 +6 +6 5 2" {
		t.Errorf("with logasap: %q", got)
	}
	for _, tc := range []struct {
		term   TermState
		status int
		retr   int64
		redisp bool
		mode   config.Mode
		want   bool
	}{
		{TermNormal, 200, 0, false, config.ModeHTTP, false},
		{Term('L', 'R'), 302, 0, false, config.ModeHTTP, false},
		{Term('P', 'R'), 403, 0, false, config.ModeHTTP, true},
		{Term('C', 'D'), 200, 0, false, config.ModeHTTP, true},
		{TermNormal, 503, 0, false, config.ModeHTTP, true},
		{TermNormal, 200, 1, false, config.ModeHTTP, true},
		{TermNormal, 200, 1, true, config.ModeHTTP, true},
		{TermNormal, 500, 0, false, config.ModeTCP, false},
	} {
		c := NewContext()
		c.Term, c.Status, c.Retries, c.Redispatched, c.Mode = tc.term, tc.status, tc.retr, tc.redisp, tc.mode
		if got := Failed(c); got != tc.want {
			t.Errorf("Failed(%s %d retries=%d redisp=%v mode=%v) = %v", string([]byte{tc.term.Cause(), tc.term.Phase()}), tc.status, tc.retr, tc.redisp, tc.mode, got)
		}
	}
}

// TestHTTPRuleSamples: in an HTTP rule's format (set-header, return hdr,
// redirect) HAProxy 2.6 ignores +Q on a sample, '%XX'-encodes the bytes a
// field value cannot carry (HTAB stays), and an absent sample is empty;
// named variables keep their options (%{+Q}ci is quoted).
func TestHTTPRuleSamples(t *testing.T) {
	c := docHTTPContext()
	ex := fakeExprs(map[string]string{"dn": "/O=acme/CN=alice", "ctl": "a\tb\r\nc\x01\x7fé"})
	for _, tt := range []struct{ format, want string }{
		{"%{+Q}[dn]", "/O=acme/CN=alice"},
		{"%[ctl]", "a\tb%0D%0Ac%01%7Fé"},
		{"<%[missing]>", "<>"},
		{"a %[missing] b %[missing]", "a  b "}, // an absent sample still ends a run of spaces (HAProxy)
		{"%{+Q}[dn] %{+Q}ci", `/O=acme/CN=alice "10.0.1.2"`},
	} {
		f, err := CompileHTTP(tt.format, testPos, ex)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(f.Append(nil, c)); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.format, got, tt.want)
		}
	}
}
