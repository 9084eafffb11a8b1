package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/gatehouse/gatehouse/internal/persist"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// persistServer is a backend server that names itself (X-Srv), shows the
// Cookie headers it got in its body and sets the cookie ?set= asks for.
func persistServer(t *testing.T, name string) string { return startPersistServer(t, name, false) }

// persistServerH2 is persistServer speaking HTTP/2 in clear text (h2c).
func persistServerH2(t *testing.T, name string) string { return startPersistServer(t, name, true) }

func startPersistServer(t *testing.T, name string, h2 bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Srv", name)
		if v := r.URL.Query().Get("cc"); v != "" {
			w.Header().Set("Cache-Control", v)
		}
		if v := r.URL.Query().Get("set"); v != "" {
			w.Header().Add("Set-Cookie", v)
		}
		io.WriteString(w, strings.Join(r.Header.Values("Cookie"), " | "))
	})}
	if h2 {
		srv.Handler = h2c.NewHandler(srv.Handler, &http2.Server{})
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// cookieDate is an insert cookie's date field: HAProxy's s30tob64 of the
// Unix time in 4-second units.
func cookieDate(unix int64) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := int32(unix >> 2)
	b := make([]byte, 5)
	for i := range b {
		b[i] = chars[(v>>24)&0x3f]
		v <<= 6
	}
	return string(b)
}

// persistLine: "%HU %b/%s %ST %tsc %rc %CC %CS" of the log-format below.
var absPrefix = regexp.MustCompile(`^https?://[^/]+`)

var persistLine = regexp.MustCompile(`PERSIST (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\s*$`)

// TestCookiePersistenceMatchesHAProxy runs cookie persistence side by side
// with HAProxy 2.6 on one configuration and the same requests: insert
// (indirect, nocache, a cookie naming a server in maintenance, a server
// that refuses connections redispatched on the last retry, postonly),
// prefix, rewrite, maxidle/maxlife dates, dynamic cookies, use-server,
// force-persist, ignore-persist and option persist. For every request the
// server that answered, the Cookie header it got, the Set-Cookie and
// Cache-Control the client got, and the log's %b/%s %ST %tsc %rc %CC %CS
// must be the same, over HTTP/1.1 and HTTP/2 clients (and servers); "option redispatch
// <interval>" picks the retry that leaves the persistent server.
func TestCookiePersistenceMatchesHAProxy(t *testing.T) {
	names := []string{"a", "b", "m", "p1", "p2", "r1", "r2", "u1", "u2", "u3", "q1", "q2", "d1", "d2", "t1", "t2"}
	addr := map[string]string{}
	for _, n := range names {
		addr[n] = persistServer(t, n)
	}
	for _, n := range []string{"x1", "x2"} {
		addr[n] = persistServerH2(t, n)
	}
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens there
	cfg := func(port, h2port int, sink, sock string) string {
		return fmt.Sprintf(`global
    log %[1]s format raw local0
    stats socket %[21]s level admin

defaults
    mode http
    log global
    log-format "PERSIST %%HU %%b/%%s %%ST %%tsc %%rc %%CC %%CS"
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%[2]d
    bind 127.0.0.1:%[20]d proto h2
    capture cookie SRV len 40
    use_backend post if { req.hdr(x-be) post }
    use_backend pfx if { req.hdr(x-be) pfx }
    use_backend rw if { req.hdr(x-be) rw }
    use_backend rules if { req.hdr(x-be) rules }
    use_backend keep if { req.hdr(x-be) keep }
    use_backend dyn if { req.hdr(x-be) dyn }
    use_backend md if { req.hdr(x-be) md }
    use_backend nore if { req.hdr(x-be) nore }
    use_backend h2srv if { req.hdr(x-be) h2srv }
    use_backend every2 if { req.hdr(x-be) every2 }
    use_backend first if { req.hdr(x-be) first }
    default_backend ins

backend ins
    cookie SRV insert indirect nocache
    option redispatch
    retries 2
    server a %[3]s cookie s1
    server b %[4]s cookie s2 weight 0
    server dead %[5]s cookie s3 weight 0
    server m %[6]s cookie s4 disabled

backend post
    cookie SRV insert postonly httponly secure domain .example.com attr SameSite=Lax
    server t1 %[17]s cookie t1
    server t2 %[18]s cookie t2 weight 0

backend pfx
    cookie JSESSIONID prefix
    server p1 %[7]s cookie p1
    server p2 %[8]s cookie p2 weight 0

backend rw
    cookie SRV rewrite
    server r1 %[9]s cookie r1
    server r2 %[10]s cookie r2 weight 0

backend rules
    cookie SRV insert
    use-server u2 if { path_beg /rules/two }
    use-server u3 if { path_beg /rules/three }
    ignore-persist if { path_beg /rules/static }
    force-persist if { req.hdr(x-force) -m found }
    http-request deny if { path /rules/deny }
    http-request return status 200 if { path /rules/ret }
    server u1 %[11]s cookie u1
    server u2 %[12]s cookie u2 weight 0
    server u3 %[13]s cookie u3 disabled

backend keep
    cookie SRV insert indirect
    option persist
    server q1 %[14]s cookie q1
    server q2 %[15]s cookie q2 disabled

backend dyn
    cookie DYN insert dynamic
    dynamic-cookie-key s3cr3t
    server d1 %[16]s
    server d2 %[19]s weight 0

backend nore
    cookie SRV insert indirect
    retries 1
    server a %[3]s cookie s1
    server dead %[5]s cookie s3 weight 0

backend h2srv
    cookie SRV insert indirect nocache
    server x1 %[22]s proto h2 cookie x1
    server x2 %[23]s proto h2 cookie x2 weight 0

backend every2
    cookie SRV insert indirect
    retries 3
    option redispatch 2
    server a %[3]s cookie s1
    server dead %[5]s cookie s3 weight 0

backend first
    cookie SRV insert indirect
    retries 3
    option redispatch -3
    server a %[3]s cookie s1
    server dead %[5]s cookie s3 weight 0

backend md
    cookie SRV insert maxidle 1h maxlife 2h
    server a %[3]s cookie s1
`, sink, port, addr["a"], addr["b"], dead, addr["m"], addr["p1"], addr["p2"], addr["r1"], addr["r2"],
			addr["u1"], addr["u2"], addr["u3"], addr["q1"], addr["q2"], addr["d1"], addr["t1"], addr["t2"], addr["d2"], h2port, sock, addr["x1"], addr["x2"])
	}
	d2 := persist.DynamicValue("s3cr3t", netip.MustParseAddrPort(addr["d2"]))
	type req struct {
		be, path, cookie, force, method string
	}
	now := time.Now().Unix()
	reqs := []req{
		{be: "ins", path: "/"},
		{be: "ins", path: "/", cookie: "SRV=s2; other=x"},
		{be: "ins", path: "/", cookie: "a=1; SRV=s1"},
		{be: "ins", path: "/", cookie: "SRV=zz"},
		{be: "ins", path: "/", cookie: "SRV=s4; o=2"},
		{be: "ins", path: "/", cookie: "SRV=s3"},
		{be: "ins", path: "/?set=SRV%3Dfromserver", cookie: "SRV=s2"},
		{be: "ins", path: "/?set=SRV%3Dfromserver"},
		{be: "ins", path: "/?cc=max-age%3D60"},
		{be: "ins", path: "/?cc=public"},
		{be: "ins", path: "/?cc=private,max-age%3D60"},
		{be: "post", path: "/"},
		{be: "post", path: "/", method: "POST"},
		{be: "post", path: "/", method: "POST", cookie: "SRV=t2"},
		{be: "pfx", path: "/?set=JSESSIONID%3Dabc%3B%20path%3D%2F"},
		{be: "pfx", path: "/", cookie: "JSESSIONID=p2~xyz; o=1"},
		{be: "pfx", path: "/?set=JSESSIONID%3Dnew", cookie: "JSESSIONID=p2~xyz"},
		{be: "pfx", path: "/", cookie: "JSESSIONID=nodelim"},
		{be: "rw", path: "/?set=SRV%3Dsession%3B%20Path%3D%2F"},
		{be: "rw", path: "/?set=SRV%3Dsession", cookie: "SRV=r2"},
		{be: "rw", path: "/", cookie: "SRV=r9"},
		{be: "rules", path: "/rules/two", cookie: "SRV=u1"},
		{be: "rules", path: "/rules/static", cookie: "SRV=u2"},
		{be: "rules", path: "/rules/three"},
		{be: "rules", path: "/rules/three", force: "1"},
		{be: "rules", path: "/rules/x", cookie: "SRV=u3", force: "1"},
		{be: "rules", path: "/rules/x", cookie: "SRV=u3"},
		{be: "rules", path: "/rules/deny", cookie: "SRV=u2"},
		{be: "rules", path: "/rules/ret", cookie: "SRV=u2"},
		{be: "keep", path: "/", cookie: "SRV=q2"},
		{be: "nore", path: "/", cookie: "SRV=s3"},
		{be: "h2srv", path: "/?set=SRV%3Dmine&cc=max-age%3D9"},
		{be: "h2srv", path: "/", cookie: "a=b; SRV=x2"},
		{be: "every2", path: "/", cookie: "SRV=s3"},
		{be: "first", path: "/", cookie: "SRV=s3"},
		{be: "dyn", path: "/"},
		{be: "dyn", path: "/", cookie: "DYN=" + d2},
		{be: "md", path: "/"},
		{be: "md", path: "/", cookie: "SRV=s1"},
		{be: "md", path: "/", cookie: "SRV=s1|" + cookieDate(now-20) + "|" + cookieDate(now-100)},
		{be: "md", path: "/", cookie: "SRV=s1|" + cookieDate(now-2*3600) + "|" + cookieDate(now-100)},
		{be: "md", path: "/", cookie: "SRV=s1|" + cookieDate(now-20) + "|" + cookieDate(now-3*3600)},
	}
	// The dates an insert cookie carries depend on the second it is sent.
	dates := regexp.MustCompile(`\|[A-Za-z0-9+/]{5}`)
	run := func(name string, start func(cfg string)) (map[string]string, map[string]string, string) {
		sink := startSyslogSink(t)
		port, h2port := testenv.FreePort(t), testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		start(cfg(port, h2port, sink.Addr, sock))
		answers := map[string]string{}
		h1 := http.DefaultClient
		h2 := &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		// Every request over HTTP/1.1, then over HTTP/2 (h2c) but those
		// whose retries wait out HAProxy's turn-around second.
		send := func(client *http.Client, p int, r req, id string) {
			uri := r.path
			if strings.Contains(uri, "?") {
				uri += "&id=" + id
			} else {
				uri += "?id=" + id
			}
			method := r.method
			if method == "" {
				method = "GET"
			}
			hr, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", p, uri), nil)
			hr.Header.Set("X-Be", r.be)
			if r.cookie != "" {
				hr.Header.Set("Cookie", r.cookie)
			}
			if r.force != "" {
				hr.Header.Set("X-Force", r.force)
			}
			hr.Close = true
			resp, err := client.Do(hr)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", name, r.be, uri, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers[uri] = dates.ReplaceAllString(fmt.Sprintf("%d srv=%s got=%q set-cookie=%q cache-control=%q",
				resp.StatusCode, resp.Header.Get("X-Srv"), body, resp.Header.Values("Set-Cookie"), resp.Header.Values("Cache-Control")), "|DATE")
		}
		all := len(reqs)
		for n := 0; n < 2*all; n++ {
			i, r, client, p, tag := n%all, reqs[n%all], h1, port, ""
			if n >= all {
				if strings.Contains(r.cookie, "=s3") {
					continue
				}
				client, p, tag = h2, h2port, "&h2"
			}
			send(client, p, r, fmt.Sprint(i)+tag)
		}
		// The runtime API switches and rekeys the dynamic cookies.
		var cli []string
		for _, cmd := range []string{"enable dynamic-cookie backend", "enable dynamic-cookie backend nope",
			"set dynamic-cookie-key backend dyn", "disable dynamic-cookie backend dyn", "@rt1",
			"set dynamic-cookie-key backend dyn n3wk3y", "@rt2", "enable dynamic-cookie backend dyn", "@rt3"} {
			if id, ok := strings.CutPrefix(cmd, "@"); ok {
				send(h1, port, req{be: "dyn", path: "/"}, id)
				continue
			}
			cli = append(cli, "> "+cmd, apiCLI(t, sock, cmd))
		}
		logs := map[string]string{}
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, l := range sink.Lines("PERSIST ") {
				// Readiness probes log too (<BADREQ>): only the requests count.
				m := persistLine.FindStringSubmatch(strings.TrimSpace(l))
				if m == nil {
					continue
				}
				// %HU of an HTTP/2 request is absolute-form in HAProxy:
				// the URIs are compared as the client sent them.
				uri := absPrefix.ReplaceAllString(m[1], "")
				if answers[uri] != "" {
					logs[uri] = dates.ReplaceAllString(strings.Join(m[2:], " "), "|DATE")
				}
			}
			return len(logs) >= len(answers)
		}, "%s: %d log lines, want %d:\n%s", name, len(logs), len(answers), sink.All())
		return answers, logs, strings.Join(cli, "\n")
	}
	ga, gl, gc := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	ha, hl, hc := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	if gc != hc {
		t.Errorf("runtime API:\n gatehouse:\n%s\n   haproxy:\n%s", gc, hc)
	}
	var uris []string
	for u := range ha {
		uris = append(uris, u)
	}
	sort.Strings(uris)
	for _, u := range uris {
		if ga[u] != ha[u] {
			t.Errorf("%s answer:\n gatehouse: %s\n   haproxy: %s", u, ga[u], ha[u])
		}
		if gl[u] != hl[u] {
			t.Errorf("%s log:\n gatehouse: %s\n   haproxy: %s", u, gl[u], hl[u])
		}
		t.Logf("%s: %s | %s", u, ha[u], hl[u])
	}
}

// nameServer answers each connection's first line with its name, then
// closes (the client speaks first, as TLS clients do).
func nameServer(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					io.WriteString(c, name)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestUseServerTCPMatchesHAProxy: use-server in mode tcp, side by side
// with HAProxy 2.6: a rule's server even at weight 0, a server in
// maintenance skipped (the request balanced) unless force-persist
// matches, and a server that refuses connections left on the last retry
// with option redispatch. Each port's connection must reach the same
// server and log the same %b/%s %ts %rc.
func TestUseServerTCPMatchesHAProxy(t *testing.T) {
	srv := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		srv[n] = nameServer(t, n)
	}
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	line := regexp.MustCompile(`TCPUS (\d+) (\S+) (\S+) (\S+)\s*$`)
	run := func(name string, start func(string)) map[string]string {
		sink := startSyslogSink(t)
		ports := make([]int, 5)
		var binds string
		for i := range ports {
			ports[i] = testenv.FreePort(t)
			binds += fmt.Sprintf("    bind 127.0.0.1:%d\n", ports[i])
		}
		start(fmt.Sprintf(`global
    log %s format raw local0

defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s

listen tcpl
%s    log-format "TCPUS %%cp %%b/%%s %%ts %%rc"
    option redispatch
    retries 1
    force-persist if { dst_port %d }
    use-server b if { dst_port %d }
    use-server c if { dst_port %d }
    use-server c if { dst_port %d }
    use-server dead if { dst_port %d }
    server a %s
    server b %s weight 0
    server c %s disabled
    server dead %s weight 0
`, sink.Addr, binds, ports[2], ports[1], ports[2], ports[3], ports[4], srv["a"], srv["b"], srv["c"], dead))
		out := map[string]string{}
		for i, p := range ports {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 10*time.Second)
			if err != nil {
				t.Fatalf("%s: port %d: %v", name, i, err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "hello\n")
			b, _ := io.ReadAll(c)
			c.Close()
			// Lines are matched by client port: readiness probes log too.
			out[fmt.Sprint(c.LocalAddr().(*net.TCPAddr).Port)] = fmt.Sprintf("port%d got=%q", i, b)
		}
		logs := map[string]string{}
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, l := range sink.Lines("TCPUS ") {
				if m := line.FindStringSubmatch(strings.TrimSpace(l)); m != nil && out[m[1]] != "" {
					logs[m[1]] = strings.Join(m[2:], " ")
				}
			}
			return len(logs) == len(ports)
		}, "%s: %d log lines, want %d:\n%s", name, len(logs), len(ports), sink.All())
		res := map[string]string{}
		for p, o := range out {
			res[o[:5]] = o + " log=" + logs[p]
		}
		return res
	}
	g := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	h := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	for k, v := range h {
		if g[k] != v {
			t.Errorf("%s:\n gatehouse: %s\n   haproxy: %s", k, g[k], v)
		}
		t.Logf("%s", v)
	}
}
