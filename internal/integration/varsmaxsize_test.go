package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestVarsMaxSizeAsHAProxy: tune.vars.*-max-size, side by side with
// HAProxy 2.6. A variable costs 80 bytes plus its string; the limits are
// hierarchical (txn counts in sess, sess in the process total); a set-var
// past one fails and leaves nothing set; a variable that failed on its
// string still counts its 80 bytes; the bytes of a transaction's and a
// connection's variables come back when they end.
func TestVarsMaxSizeAsHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port, statsPort := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    tune.vars.txn-max-size 100
    tune.vars.sess-max-size 300
    tune.vars.global-max-size 400

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    # 90 in sess; then 90 in txn (and sess: 180)
    http-request set-var(sess.s) str(aaaaaaaaaa) if { path /1 }
    http-request set-var(txn.a) str(0123456789) if { path /1 }
    # txn: 90 + 81 > 100 on /1; on /2 sess: 170 + 81
    http-request set-var(txn.b) str(x)
    # sess: 180 + 80 + 50 > 300: sess.t fails on its string, its 80 stay
    http-request set-var(sess.t) str(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) if { path /1 }
    # sess: 260 + 81 > 300
    http-request set-var(sess.u) str(c) if { path /1 }
    # the next request: txn.a's 90 came back, sess holds 251: 251 + 81 > 300
    http-request set-var(sess.v) str(d) if { path /2 }
    # the process holds 251 (400 allowed); a connection that kept its 170
    # after it ended would leave the next one's /1 short of room
    http-request set-var(req.w) str(e) if { path /2 }
    http-request return status 200 content-type text/plain lf-string "s=%%[var(sess.s)] a=%%[var(txn.a)] b=%%[var(txn.b)] u=%%[var(sess.u)] v=%%[var(sess.v)] w=%%[var(req.w)]"

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port, statsPort)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var got []string
		// Twice on new connections: the first connection's bytes came back.
		for range 2 {
			c := dialEdge(t, port)
			for _, path := range []string{"/1", "/2"} {
				c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
				st, body := c.response("GET")
				got = append(got, fmt.Sprintf("%s %d %s", path, st, strings.TrimSpace(body)))
			}
			c.c.Close()
			// The connection has ended (and its variables with it).
			testenv.Eventually(t, 20*time.Second, func() bool {
				csv := httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
				return csvRow(t, csv, "fe", "FRONTEND")["scur"] == "0"
			}, "%s: the connection never ended", name)
		}
		results[name] = strings.Join(got, " | ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	want := "/1 200 s=aaaaaaaaaa a=0123456789 b= u= v= w= | /2 200 s=aaaaaaaaaa a= b=x u= v= w="
	if results["gatehouse"] != want+" | "+want {
		t.Errorf("gatehouse: %s\nwant %s", results["gatehouse"], want+" | "+want)
	}
}
