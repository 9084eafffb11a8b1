package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// ruleCase is one request of a side-by-side rule comparison: raw is the
// request as the client sends it (a fresh connection each), "{SERVER}"
// standing for the recording server's address.
type ruleCase struct {
	name, raw string
}

// ruleEnv is what a compared configuration is built from.
type ruleEnv struct {
	Port    int    // the edge's listening port
	Server  string // the recording server's address
	LogAddr string // a syslog sink (UDP)
}

// compareRules runs cfg in HAProxy 2.6 and in Gatehouse, sends each case
// and compares what the client got (status, the response headers named
// in respHdrs, the body), what the server received (request line and the
// request headers named in reqHdrs, or that it got nothing) and, when
// withLog, the access log line of each request.
func compareRules(t *testing.T, cfg func(e ruleEnv) string, cases []ruleCase, respHdrs, reqHdrs []string, withLog bool) {
	t.Helper()
	answer := func(_ int, c net.Conn, _ *bufio.Reader, req *http.Request) bool {
		io.Copy(io.Discard, req.Body)
		// X-Path lets response rules tell requests apart: HAProxy's
		// request fetches (path, ...) find nothing in response rules.
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Srv: yes\r\nX-Path: %s\r\nSet-Cookie: SRV=1\r\n\r\nserver", req.URL.Path)
		return true
	}
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		be := startEdgeBackend(t, answer)
		sink := startSyslogSink(t)
		e := ruleEnv{Port: testenv.FreePort(t), Server: be.addr(), LogAddr: sink.Addr}
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg(e))
		} else {
			testenv.StartGatehouse(t, cfg(e))
		}
		var out []string
		for i, c := range cases {
			seen := len(be.received())
			ec := dialEdge(t, e.Port)
			ec.send(strings.ReplaceAll(c.raw, "{SERVER}", e.Server))
			method, _, _ := strings.Cut(c.raw, " ")
			resp, err := http.ReadResponse(ec.br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("%s: %s: %v", name, c.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			line := fmt.Sprintf("%s: %s %q", c.name, resp.Status, body)
			var hs []string
			for _, h := range respHdrs {
				for _, v := range resp.Header.Values(h) {
					hs = append(hs, h+": "+v)
				}
			}
			sort.Strings(hs)
			line += " resp[" + strings.Join(hs, "; ") + "]"
			if got := be.received(); len(got) > seen {
				line += " server[" + pickHead(got[len(got)-1].raw, reqHdrs) + "]"
			} else {
				line += " server[nothing]"
			}
			if withLog {
				testenv.Eventually(t, 20*time.Second, func() bool { return len(requestLogs(sink)) > i },
					"%s: no log line for %s; got %q", name, c.name, sink.All())
				l := requestLogs(sink)[i]
				line += " log[" + strings.TrimSpace(l[strings.Index(l, "LOG|"):]) + "]"
			}
			ec.c.Close()
			// The server's address differs from run to run.
			_, sport, _ := strings.Cut(e.Server, ":")
			line = strings.ReplaceAll(line, sport, "SPORT")
			line = strings.ReplaceAll(line, fmt.Sprint(e.Port), "EPORT")
			out = append(out, line)
		}
		results[name] = out
		t.Logf("%s:\n%s", name, strings.Join(out, "\n"))
	}
	h, g := results["haproxy"], results["gatehouse"]
	for i := range h {
		if h[i] != g[i] {
			t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", h[i], g[i])
		}
	}
}

// pickHead returns the request line of a raw head and the lines of the
// named headers, in their order.
func pickHead(raw string, names []string) string {
	lines := strings.Split(raw, "\r\n")
	out := []string{lines[0]}
	for _, l := range lines[1:] {
		k, _, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(k, n) {
				out = append(out, strings.ToLower(k)+":"+l[len(k)+1:])
			}
		}
	}
	return strings.Join(out, "; ")
}

// requestLogs are the sink's "LOG|" lines but those of readiness probes
// (an empty connection logs a <BADREQ>).
func requestLogs(s *syslogSink) []string {
	var out []string
	for _, l := range s.Lines("LOG|") {
		if !strings.Contains(l, "<BADREQ>") {
			out = append(out, l)
		}
	}
	return out
}
