package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func redirectOptsConfig(port int) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    http-request redirect code 301 location /a%%[path] drop-query if { path_beg /1 }
    http-request redirect append-slash drop-query code 308 prefix /p if { path_beg /2 }
    http-request redirect set-cookie SEEN=1 location /c if { path_beg /3 }
    http-request redirect clear-cookie USERID= location /d if { path_beg /4 }
    http-request redirect location %%[req.hdr(x-to)] ignore-empty if { path_beg /5 }
    http-request redirect location /first prefix /second if { path_beg /8 }
    http-request return status 200 content-type text/plain lf-string "absent=[%%[req.hdr(nope)]]" if { path_beg /x10 }
    http-request set-header X-Seen yes
    redirect location /legacy%%[path] code 307 if { path_beg /6 }
    redirect code 303 prefix http://x.example drop-query if { path_beg /7 }
    redirect scheme https if { path_beg /9 } { req.hdr(x-seen) yes }
    default_backend be

backend be
    redirect location /from-backend set-cookie B=2
`, port)
}

// TestRedirectOptionsMatchHAProxy sends the same requests to HAProxy 2.6
// and Gatehouse: http-request redirect options in any order (code before
// the type, the last type winning), set-cookie, clear-cookie,
// ignore-empty, and the legacy "redirect" keyword, whose value is not a
// log-format and which runs after the proxy's http-request rules. An absent
// sample in a rule's format gives nothing (not a log line's "-"), which is
// what ignore-empty sees.
func TestRedirectOptionsMatchHAProxy(t *testing.T) {
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, redirectOptsConfig(hp))
	testenv.StartGatehouse(t, redirectOptsConfig(gp))
	type req struct{ path, to string }
	reqs := []req{{"/1/x?q=1", ""}, {"/2/y?q=1", ""}, {"/3", ""}, {"/4", ""}, {"/5", ""}, {"/5", "/there"},
		{"/6/z", ""}, {"/7/w?q", ""}, {"/8/v?q", ""}, {"/9", ""}, {"/x10", ""}, {"/other", ""}}
	answers := func(port int) string {
		var out []string
		for _, r := range reqs {
			// A raw exchange: Go's client refuses a Location such as
			// "/legacy%[path]", which is what the legacy rule must send.
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			extra := ""
			if r.to != "" {
				extra = "X-To: " + r.to + "\r\n"
			}
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h.example\r\n%sConnection: close\r\n\r\n", r.path, extra)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("GET %s: %v", r.path, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("GET %s: body: %v", r.path, err)
			}
			resp.Body.Close()
			c.Close()
			out = append(out, fmt.Sprintf("%s %s -> %d location=%q set-cookie=%q body=%q", r.path, r.to, resp.StatusCode,
				resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"), body))
		}
		return strings.Join(out, "\n")
	}
	h, g := answers(hp), answers(gp)
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{`/6/z  -> 307 location="/legacy%[path]"`, `/3  -> 302 location="/c" set-cookie="SEEN=1; path=/;" body=""`, `/5  -> 302 location="/from-backend" set-cookie="B=2; path=/;"`, `body="absent=[]"`} {
		if !strings.Contains(g, want) {
			t.Errorf("missing %q in:\n%s", want, g)
		}
	}
}
