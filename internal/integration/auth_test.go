package integration

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"golang.org/x/crypto/bcrypt"
)

// authHashes makes one hash per format for password pw: SHA-512, SHA-256
// (with rounds) and MD5 crypt by "openssl passwd", bcrypt by x/crypto in
// its three spellings. HAProxy checks them with the C library's crypt(3).
func authHashes(t *testing.T, pw string) map[string]string {
	t.Helper()
	h := map[string]string{}
	for user, args := range map[string][]string{
		"sha512": {"-6", "-salt", "Zx8.Ab/cDeFgHiJk"},
		"sha256": {"-5", "-salt", "rounds=2000$short"},
		"md5":    {"-1", "-salt", "s4ltS4lt"},
	} {
		cmd := exec.Command("openssl", append([]string{"passwd"}, append(args, "-stdin")...)...)
		cmd.Stdin = strings.NewReader(pw + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl passwd %v: %v", args, err)
		}
		h[user] = strings.TrimSpace(string(out))
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), 5)
	if err != nil {
		t.Fatal(err)
	}
	h["bcrypt2b"] = "$2b$" + string(b[4:]) // x/crypto writes $2a$
	h["bcrypt2a"] = "$2a$" + string(b[4:])
	h["bcrypt2y"] = "$2y$" + string(b[4:])
	return h
}

func authConfig(fe, st int, server string, hashes map[string]string) string {
	return fmt.Sprintf(`defaults
    mode http
    # The harness's readiness probe (an empty connection) is not a request
    # to count: counted as <BADREQ>, it lands whenever each proxy sees it close.
    option http-ignore-probes
    timeout connect 5s
    timeout client 10s
    timeout server 10s

userlist L
    group admins users sha512,bcrypt2y
    group ops
    user sha512 password %s
    user sha256 password %s groups ops
    user md5 password %s
    user bcrypt2b password %s groups ops,admins
    user bcrypt2a password %s
    user bcrypt2y password %s
    user plain insecure-password s3cret
    user redacted password $5$3VeorK1XxvgRseQ$VBkOPCY2enWZsas.C6X9Iif0FPHDknXXXXXXXXX
    user nopass groups ops

frontend fe
    bind 127.0.0.1:%d
    acl auth_ok http_auth(L)
    acl is_admin http_auth_group(L) admins
    acl is_staff http_auth_group(L) admins ops
    http-request auth realm "Admin area" if { path_beg /admin } !is_admin
    http-request deny if { path_beg /staff } !is_staff
    http-request auth if { path_beg /private } !auth_ok
    http-request return status 200 content-type text/plain lf-string "user=%%[http_auth_user] type=%%[http_auth_type]" if { path /whoami }
    default_backend app

backend app
    acl back_ok http_auth(L)
    http-request auth realm back if { path_beg /back } !back_ok
    server s1 %s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /
    stats http-request allow if { http_auth_group(L) admins }
    stats http-request auth realm Stats
`, hashes["sha512"], hashes["sha256"], hashes["md5"], hashes["bcrypt2b"], hashes["bcrypt2a"], hashes["bcrypt2y"], fe, server, st)
}

// TestBasicAuthMatchesHAProxy runs the same userlist (one user per hash
// format, an insecure password, a user without one, groups declared both
// ways) in HAProxy 2.6 and Gatehouse and sends both the same requests:
// right and wrong passwords, unknown users, malformed Authorization
// headers, group-based ACLs, the backend's and the stats page's rules.
// Status codes, WWW-Authenticate and the 401 pages must be the same.
func TestBasicAuthMatchesHAProxy(t *testing.T) {
	const pw = "pa ss:w0rd!"
	hashes := authHashes(t, pw)
	echo := testenv.StartEchoServer(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	basic := func(u, p string) string { return "Basic " + b64(u+":"+p) }
	type req struct{ path, auth string }
	var reqs []req
	for _, p := range []string{"/private", "/admin", "/staff", "/back", "/whoami"} {
		for _, u := range []string{"sha512", "sha256", "md5", "bcrypt2b", "bcrypt2a", "bcrypt2y"} {
			reqs = append(reqs, req{p, basic(u, pw)}, req{p, basic(u, pw+"x")})
		}
		reqs = append(reqs, req{p, basic("plain", "s3cret")}, req{p, basic("plain", "s3cre")},
			req{p, basic("nobody", pw)}, req{p, basic("redacted", pw)}, req{p, ""})
		// Not "nopass": HAProxy 2.6 hands crypt(3) a NULL setting for a
		// user without a password and the connection dies with no answer
		// (Gatehouse answers 401: TestCheck in internal/userlist).
	}
	for _, a := range []string{
		"Basic", "Basic !!!!", "Basic " + b64("sha512"+pw), "Basic " + b64("plain:s3cret")[:10],
		"Basic " + b64("plain:s3cret") + "x", "Bearer abc.def", "Digest username=\"plain\"",
		"basic " + b64("plain:s3cret"), "BASIC   " + b64("plain:s3cret"),
	} {
		reqs = append(reqs, req{"/private", a}, req{"/whoami", a})
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe, st := testenv.FreePort(t), testenv.FreePort(t)
		cfg := authConfig(fe, st, echo.Addr, hashes)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		do := func(port int, r req) {
			code, hdr, body := authExchange(t, port, r.path, r.auth)
			out = append(out, fmt.Sprintf("%s [%s] -> %d %q %q", r.path, r.auth, code, hdr, body))
		}
		for _, r := range reqs {
			do(fe, r)
		}
		for _, r := range []req{{"/", ""}, {"/", basic("sha512", pw)}, {"/", basic("sha256", pw)}, {"/", basic("bcrypt2y", pw+"x")}} {
			do(st, r)
		}
		// The counters: an auth challenge is an intercepted request on
		// the frontend, a denial a denied one, and each answer counts in
		// the proxies' status classes.
		// A proxy counts an answer when its stream ends, which can be just
		// after the client has read it: read once every answer is counted.
		var counters []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			counters = authCounters(t, st, basic("sha512", pw))
			return len(counters) > 0 && frontendSettled(counters[0])
		}, "%s: the frontend's answers never added up to its requests: %q", name, lazy(func() string { return strings.Join(counters, "; ") }))
		out = append(out, counters...)
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		hl, gl := strings.Split(h, "\n"), strings.Split(g, "\n")
		for i := range hl {
			if i < len(gl) && hl[i] != gl[i] {
				t.Errorf("differs:\nhaproxy:   %s\ngatehouse: %s", hl[i], gl[i])
			}
		}
		t.FailNow()
	}
	// The comparison is only worth what the answers cover.
	for _, want := range []string{"-> 200", `-> 401 "Basic realm=\"fe\""`, `-> 401 "Basic realm=\"Admin area\""`,
		`-> 401 "Basic realm=\"back\""`, `-> 401 "Basic realm=\"Stats\""`, "-> 403", "user=bcrypt2y type=Basic"} {
		if !strings.Contains(g, want) {
			t.Errorf("no answer %s in:\n%s", want, g)
		}
	}
	t.Logf("both:\n%s", g)
}

// authExchange sends one GET with an optional Authorization header and
// returns the status, the WWW-Authenticate values and, for a 401 or a
// /whoami answer, the body (other bodies are the echo server's, which
// differ by proxy).
func authExchange(t *testing.T, port int, path, auth string) (int, string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	msg := "GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
	if auth != "" {
		msg += "Authorization: " + auth + "\r\n"
	}
	if _, err := io.WriteString(c, msg+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("%s (port %d): %v", path, port, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b := ""
	if resp.StatusCode == 401 || path == "/whoami" {
		b = string(body)
	}
	return resp.StatusCode, strings.Join(resp.Header.Values("WWW-Authenticate"), " | "), b
}

// frontendSettled: on an "fe,FRONTEND ..." row of authCounters, every
// request has its answer counted (hrsp_2xx + hrsp_4xx = req_tot; the
// configuration answers nothing else).
func frontendSettled(row string) bool {
	n := map[string]int{}
	for _, kv := range strings.Fields(row)[1:] {
		k, v, _ := strings.Cut(kv, "=")
		n[k], _ = strconv.Atoi(v)
	}
	return strings.HasPrefix(row, "fe,FRONTEND ") && n["req_tot"] > 0 && n["hrsp_2xx"]+n["hrsp_4xx"] == n["req_tot"]
}

// authCounters reads the frontend's and the backend's request counters
// from the stats page's CSV.
func authCounters(t *testing.T, port int, auth string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/;csv", port), nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("stats CSV: %d %q", resp.StatusCode, body)
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	var out []string
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		row := f[0] + "," + f[1]
		if row != "fe,FRONTEND" && row != "app,BACKEND" {
			continue
		}
		var kv []string
		for i, c := range cols {
			switch c {
			case "req_tot", "dreq", "intercepted", "hrsp_2xx", "hrsp_4xx":
				if i < len(f) {
					kv = append(kv, c+"="+f[i])
				}
			}
		}
		out = append(out, row+" "+strings.Join(kv, " "))
	}
	return out
}
