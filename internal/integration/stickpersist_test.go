package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// stickPersistConfig: persistence by stick table in four backends and a
// mode tcp listen. "balance first" makes the balanced choice the first
// usable server in both proxies, so every move is the stick rules' doing.
func stickPersistConfig(port, tcpPort int, sink, sock string, a map[string]string, dead string) string {
	return fmt.Sprintf(`global
    log %[1]s format raw local0
    stats socket %[2]s level admin

defaults
    mode http
    log global
    log-format "STICK %%HU %%b/%%s %%ST %%tsc %%rc"
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%[3]d
    use_backend bycook if { req.hdr(x-be) cook }
    use_backend pers if { req.hdr(x-be) pers }
    use_backend nore if { req.hdr(x-be) nore }
    use_backend both if { req.hdr(x-be) both }
    default_backend bysrc

backend bysrc
    balance first
    stick-table type ip size 1m expire 30m
    stick on src
    use-server s3 if { req.hdr(x-use) s3 }
    server s1 %[4]s
    server s2 %[5]s
    server s3 %[6]s

backend bycook
    balance first
    stick-table type string len 32 size 1k expire 30m
    stick match req.cook(sid)
    stick store-response res.cook(sid)
    ignore-persist if { path_beg /static }
    force-persist if { req.hdr(x-force) 1 }
    use-server c2 if { req.hdr(x-use) c2 }
    use-server c3 if { req.hdr(x-use) c3 }
    server c1 %[7]s
    server c2 %[8]s
    server c3 %[9]s non-stick

backend pers
    balance first
    option persist
    option redispatch
    retries 1
    stick-table type string size 10 expire 30m srvkey addr
    stick on req.hdr(x-k)
    server p1 %[10]s
    server p2 %[11]s

backend nore
    balance first
    option persist
    retries 1
    stick match req.hdr(x-k) table pers
    server n1 %[12]s
    server n2 %[11]s

backend both
    balance first
    cookie SRV insert indirect nocache
    stick-table type string size 10 expire 30m
    stick on req.hdr(x-k)
    server b1 %[16]s cookie b1
    server b2 %[17]s cookie b2

listen tcpl
    mode tcp
    log-format "TCP %%b/%%s"
    bind 127.0.0.1:%[13]d
    balance first
    stick-table type ip size 10 expire 30m
    stick on src
    server t1 %[14]s
    server t2 %[15]s
`, sink, sock, port, a["s1"], a["s2"], a["s3"], a["c1"], a["c2"], a["c3"], a["p1"], dead, a["n1"], tcpPort, a["t1"], a["t2"], a["b1"], a["b2"])
}

// TestStickPersistenceMatchesHAProxy runs "stick on|match|store-request|
// store-response" side by side with HAProxy 2.6 on one configuration and
// the same requests: stick on src from two client addresses, a use-server
// rule that wins over the table (and is stored), servers disabled and
// enabled through the runtime API (a down server is balanced around, then
// stored anew), a cookie learned from the response, ignore-persist,
// force-persist and a non-stick server, a table entry set through the
// runtime API that names a dead server (redispatched with option
// redispatch, 503 without), a table shared with another backend, srvkey
// addr, cookie persistence first (a stick on still stores the server the
// cookie chose), and mode tcp. The server that answered each request, its status,
// the log's %b/%s %ST %tsc %rc and the show table dumps must be the same.
func TestStickPersistenceMatchesHAProxy(t *testing.T) {
	addr := map[string]string{}
	for _, n := range []string{"s1", "s2", "s3", "c1", "c2", "c3", "p1", "n1", "t1", "t2", "b1", "b2"} {
		addr[n] = persistServer(t, n)
	}
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens there
	type step struct {
		cli                   string // a runtime API command instead of a request
		be, path, cookie      string
		from, use, force, key string
		tcp                   bool
	}
	steps := []step{
		{be: "src", path: "/1"},
		{be: "src", path: "/2", from: "127.0.0.2", use: "s3"},
		{be: "src", path: "/3", from: "127.0.0.2"},
		{be: "src", path: "/4"},
		{cli: "disable server bysrc/s1"},
		{be: "src", path: "/5"},
		{cli: "enable server bysrc/s1"},
		{be: "src", path: "/6"},
		{be: "src", path: "/7", from: "127.0.0.2"},
		{cli: "show table bysrc"},

		{be: "cook", path: "/c1?set=sid%3Du1"},
		{be: "cook", path: "/c2?set=sid%3Du2", use: "c2"},
		{be: "cook", path: "/c3", cookie: "sid=u2"},
		{be: "cook", path: "/c4", cookie: "sid=u1"},
		{be: "cook", path: "/c5", cookie: "sid=u1", use: "c3"},
		{be: "cook", path: "/c6", cookie: "sid=u1"},
		{be: "cook", path: "/static/c7", cookie: "sid=u2"},
		{be: "cook", path: "/c8?set=sid%3Du3", use: "c3"},
		{be: "cook", path: "/c9", cookie: "sid=u3"},
		{cli: "disable server bycook/c2"},
		{be: "cook", path: "/c10", cookie: "sid=u2"},
		{be: "cook", path: "/c11", cookie: "sid=u2", force: "1"},
		{cli: "enable server bycook/c2"},
		{be: "cook", path: "/c12", cookie: "sid=u2"},
		{cli: "show table bycook"},

		{cli: "set table pers key k1 data.server_id 2"},
		{cli: "set table pers key k2 data.server_id 2"},
		{be: "pers", path: "/p1", key: "k1"},
		{be: "pers", path: "/p2", key: "k1"},
		{be: "nore", path: "/p3", key: "k2"},
		{be: "nore", path: "/p4", key: "k9"},
		{cli: "show table pers"},

		{be: "both", path: "/b1", key: "k5"},
		{be: "both", path: "/b2", key: "k5", cookie: "SRV=b2"},
		{be: "both", path: "/b3", key: "k5"},
		{be: "both", path: "/b4", key: "k6", cookie: "SRV=b1"},
		{cli: "show table both"},

		{tcp: true, path: "/t1"},
		{tcp: true, path: "/t2"},
		{cli: "disable server tcpl/t1"},
		{tcp: true, path: "/t3"},
		{cli: "enable server tcpl/t1"},
		{tcp: true, path: "/t4"},
		{cli: "show table tcpl"},
	}
	ptr := regexp.MustCompile(`(?m)^0x[0-9a-f]+: (.*) exp=\d+`)
	run := func(name string, start func(cfg string)) string {
		sink := startSyslogSink(t)
		port, tcpPort := testenv.FreePort(t), testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		start(stickPersistConfig(port, tcpPort, sink.Addr, sock, addr, dead))
		// The harness's readiness probes may have stored their source.
		for _, tb := range []string{"bysrc", "bycook", "pers", "tcpl"} {
			apiCLI(t, sock, "clear table "+tb)
		}
		var out []string
		var uris []string
		for _, s := range steps {
			if s.cli != "" {
				out = append(out, "> "+s.cli, ptr.ReplaceAllString(apiCLI(t, sock, s.cli), "PTR: $1 exp=X"))
				continue
			}
			from := s.from
			if from == "" {
				from = "127.0.0.1"
			}
			d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
				DialContext: func(ctx context.Context, network, a string) (net.Conn, error) { return d.DialContext(ctx, network, a) }}}
			p := port
			if s.tcp {
				p = tcpPort
			}
			hr, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", p, s.path), nil)
			for h, v := range map[string]string{"X-Be": s.be, "Cookie": s.cookie, "X-Use": s.use, "X-Force": s.force, "X-K": s.key} {
				if v != "" {
					hr.Header.Set(h, v)
				}
			}
			resp, err := client.Do(hr)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, s.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s from %s: %d srv=%s", s.path, from, resp.StatusCode, resp.Header.Get("X-Srv")))
			if !s.tcp {
				uris = append(uris, s.path)
			}
		}
		logs := map[string]string{}
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, l := range sink.Lines("STICK ") {
				f := strings.Fields(l[strings.Index(l, "STICK "):])
				if len(f) == 6 {
					logs[f[1]] = strings.Join(f[2:], " ")
				}
			}
			for _, u := range uris {
				if logs[u] == "" {
					return false
				}
			}
			return true
		}, "%s: the log lines of the requests did not all arrive", name)
		for _, u := range uris {
			out = append(out, "log "+u+": "+logs[u])
		}
		return strings.Join(out, "\n")
	}
	h := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	g := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{"/6 from 127.0.0.1: 200 srv=s2", "/c4 from 127.0.0.1: 200 srv=c1", "server_id=2 server_key=s2"} {
		if !strings.Contains(g, want) {
			t.Errorf("no %q in:\n%s", want, g)
		}
	}
	t.Logf("both:\n%s", g)
}
