package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// varsConfig sets variables in every scope and rule set and shows them in
// request headers (seen by the echo server), response headers, local
// replies and routing. tag's binds tell which tcp backend a connection took.
func varsConfig(fe, tcp, tag int, echo, sock string) string {
	return fmt.Sprintf(`global
    stats socket %[7]s level operator
    log stdout format raw local0
    set-var proc.prio int(100)
    set-var proc.s str(a\ b)
    set-var proc.b bool(1)
    set-var proc.gone int(1)
    set-var proc.threshold int(200),sub(proc.prio)
    set-var-fmt proc.greet "hello"

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%[1]d
    log global
    log-format "VARS %%[var(txn.path)] req=%%[var(req.m)] res=%%[var(res.st)] after=%%[var(res.after)] sess=%%[var(sess.n)] proc=%%[var(proc.hits)]"
    tcp-request content set-var(sess.tcn) var(sess.tcn,0),add(1)
    tcp-request content set-var-fmt(txn.tc) "tc-%%[var(sess.tcn)]-%%[var(req.none,x)]"
    http-request set-var(sess.n) var(sess.n,0),add(1)
    http-request set-var(sess.min,ifgt) req.hdr(x-n),add(0) if { req.hdr(x-n) -m found }
    http-request set-var(sess.first,ifnotexists) path
    http-request set-var(txn.path) path
    http-request set-var(req.m) method
    http-request set-var(txn.host) req.hdr(host),lower
    http-request set-var(txn.ip) src
    http-request set-var(txn.t) bool(true)
    http-request set-var(txn.bin) str(abc),bytes(1)
    http-request set-var-fmt(txn.fmt) "%%[var(req.m)] %%[path] %%[req.hdr(nope)]"
    http-request set-var(txn.cnt) int(5),add(txn.nope)
    http-request set-var(txn.c) str(),concat(<,txn.host,>),concat(|,proc.greet)
    http-request set-var(txn.k,ifnotempty) req.hdr(x-k)
    http-request set-var(txn.gone) str(x)
    http-request unset-var(txn.gone)
    http-request set-var(res.early) str(x)
    http-request set-var(proc.hits) var(proc.hits,0),add(1) if { path /count }
    http-request unset-var(proc.gone) if { path /count }
    http-request set-header X-Req-M "%%[var(req.m)]"
    http-request set-header X-Sess-N "%%[var(sess.n)]"
    http-request set-header X-Calc "%%[var(proc.threshold),mul(2),div(3)] %%[var(proc.prio)] %%[var(proc.greet)] %%[var(proc.hits,0)]"
    http-request return status 200 content-type text/plain lf-string "n=%%[var(sess.n)] min=%%[var(sess.min)] first=%%[var(sess.first)] path=%%[var(txn.path)] fmt=%%[var(txn.fmt)] cnt=%%[var(txn.cnt,none)] c=%%[var(txn.c)] k=%%[var(txn.k,unset)] gone=%%[var(txn.gone,unset)] early=%%[var(res.early,unset)] ip=%%[var(txn.ip),add(0)] t=%%[var(txn.t)] bin=%%[var(txn.bin)] cmp=%%[var(txn.host),strcmp(txn.path)] eq=%%[str(/show),secure_memcmp(txn.path)] odd=%%[var(sess.n),odd] tc=%%[var(txn.tc)] sv=%%[int(5),set-var(txn.w,ifexists)]/%%[int(6),set-var(txn.w)]/%%[int(7),set-var(res.x)]/%%[int(8),unset-var(res.y)]/%%[int(9),unset-var(txn.none)]" if { path /show }
    http-request deny deny_status 403 if { var(sess.n) -m int gt 100 }
    http-after-response set-var(res.after) var(res.st,none),concat(/,txn.path)
    http-after-response set-header X-After "%%[var(res.after)] %%[var(req.m,gone)] %%[var(sess.n)]"
    http-after-response unset-var(sess.min) if { var(sess.n) -m int eq 6 }
    use_backend b2 if { var(txn.path) -m beg /b2 }
    default_backend app

backend app
    http-request set-var(req.be) str(app)
    http-request set-header X-Be "%%[var(req.be)] %%[var(req.m)]"
    http-response set-var(res.st) status
    http-response set-header X-Res "%%[var(res.st)] early=%%[var(res.early,unset)]"
    http-response set-header X-Req-Gone "%%[var(req.m,gone)]"
    http-response set-header X-Txn "%%[var(txn.path)] %%[var(txn.fmt)] %%[var(txn.k,unset)]"
    http-response set-header X-Sess "%%[var(sess.n)] %%[var(sess.min)]"
    server s1 %[4]s

backend b2
    http-request return status 200 content-type text/plain lf-string "b2 %%[var(txn.path)] %%[var(req.m)] %%[var(proc.hits,0)]"

listen tcpfe
    mode tcp
    bind 127.0.0.1:%[2]d
    tcp-request inspect-delay 5s
    tcp-request connection set-var(sess.c) int(1)
    tcp-request connection set-var(txn.c) int(1)
    tcp-request content set-var(txn.len) req.len if { req.len gt 20 }
    tcp-request content set-var-fmt(sess.f) "%%[var(sess.c)]-%%[var(txn.c)]-%%[var(txn.len)]"
    tcp-request content reject if { var(txn.c) -m found }
    use_backend t0 if { var(sess.f) -m str 1--27 } { var(txn.len) -m int gt 20 }
    use_backend t1 if { var(sess.f) -m beg 1- }
    default_backend t2

backend t0
    mode tcp
    server s 127.0.0.1:%[3]d
backend t1
    mode tcp
    server s 127.0.0.1:%[5]d
backend t2
    mode tcp
    server s 127.0.0.1:%[6]d

frontend tag0
    bind 127.0.0.1:%[3]d
    http-request return status 200 content-type text/plain string "via t0"
frontend tag1
    bind 127.0.0.1:%[5]d
    http-request return status 200 content-type text/plain string "via t1"
frontend tag2
    bind 127.0.0.1:%[6]d
    http-request return status 200 content-type text/plain string "via t2"
`, fe, tcp, tag, echo, tag+1, tag+2, sock)
}

// TestVarsMatchHAProxy runs the same rules in HAProxy 2.6 and Gatehouse:
// variables of every scope set by http-request, http-response, tcp-request
// connection and content rules and the global section, with conditions,
// converters taking variables, set-var-fmt, unset-var, read back in
// request and response headers, local replies and routing; the same
// traffic gives the same answers.
func TestVarsMatchHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe, tcp := testenv.FreePort(t), testenv.FreePort(t)
		tag := freePortRun(t, 3)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := varsConfig(fe, tcp, tag, echo.Addr, sock)
		var p interface{ Stdout() string }
		if name == "haproxy" {
			p = testenv.StartHAProxy(t, cfg)
		} else {
			p = testenv.StartGatehouse(t, cfg)
		}
		var out []string
		// One keep-alive connection: sess variables carry over, txn and req
		// ones start again with each request.
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fe), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		for _, rq := range []struct{ path, hdr string }{
			{"/show", "X-N: 5\r\n"},
			{"/echo", "X-N: 3\r\nX-K: kay\r\n"},
			{"/show", "X-K: \r\n"},
			{"/count", "X-N: 7\r\n"},
			{"/b2/x", ""},
			{"/status/404", ""},
			{"/count", ""},
			{"/show", ""},
		} {
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: Vars.Example\r\n%s\r\n", rq.path, rq.hdr)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, rq.path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s -> %d", rq.path, resp.StatusCode))
			var hdrs []string
			for k, v := range resp.Header {
				if strings.HasPrefix(k, "X-") {
					hdrs = append(hdrs, k+": "+strings.Join(v, ","))
				}
			}
			sort.Strings(hdrs)
			out = append(out, hdrs...)
			var e testenv.Echo
			if json.Unmarshal(body, &e) == nil && e.URI != "" {
				var seen []string
				for k, v := range e.Headers {
					if strings.HasPrefix(k, "X-") && !strings.HasPrefix(k, "X-Forwarded-") && k != "X-Request-Id" {
						seen = append(seen, "server saw "+k+": "+strings.Join(v, ","))
					}
				}
				sort.Strings(seen)
				out = append(out, seen...)
			} else {
				out = append(out, "body: "+string(body))
			}
		}
		conn.Close()
		// A new connection: its own sess variables, the runtime's proc ones.
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/b2", fe))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, "new connection: "+string(body))

		// tcp: the request comes in two parts; the rules run again as it
		// grows, and only the whole request sets txn.len.
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcp), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "GET / HTTP/1.0\r\n")
		time.Sleep(300 * time.Millisecond) // lets the first part be inspected alone; either order gives the same answer
		io.WriteString(c, "Host: t\r\n\r\n")
		all, _ := io.ReadAll(c)
		c.Close()
		b := string(all)
		if i := strings.Index(b, "\r\n\r\n"); i >= 0 {
			b = b[i+4:]
		}
		out = append(out, "tcp: "+b)
		// The log lines see the variables that live to the end: txn, sess,
		// proc and res ones, not req ones.
		var logs []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			logs = logs[:0]
			for _, l := range strings.Split(p.Stdout(), "\n") {
				// (A readiness probe's empty connection logs "VARS -".)
				if i := strings.Index(l, "VARS /"); i >= 0 {
					logs = append(logs, l[i:])
				}
			}
			return len(logs) >= 9
		}, "%s: want 9 log lines:\n%s", name, p.Stdout())
		// Lines of different connections come in either order, from
		// either proxy: the last /show's may follow the new connection's.
		sort.Strings(logs)
		out = append(out, logs...)
		// The runtime API reads proc variables.
		for _, cmd := range []string{"get var proc.hits", "get var proc.prio", "get var proc.s", "get var proc.b",
			"get var proc.greet", "get var proc.gone", "get var proc.nope", "get var txn.path", "get var foo", "get var"} {
			out = append(out, "> "+cmd, apiCLI(t, sock, cmd))
		}
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", g)
}

// freePortRun returns the first of n consecutive free ports.
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		p := testenv.FreePort(t)
		ok := true
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no run of free ports")
	return 0
}
