package integration

import (
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestVerifyHostMatchesHAProxy: servers with "ssl verify required" and
// "verifyhost", no "sni", in front of a TLS server whose certificate names
// *.svc.example.com. HAProxy 2.6 and Gatehouse answer the same: 200 when
// verifyhost matches (wildcard, any case, also when the request's Host is
// another name), 503 with the same log line (termination state SC--) when
// it does not; a server line's verifyhost overrides default-server's.
func TestVerifyHostMatchesHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "*.svc.example.com")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cert.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "backend ok")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	be := ln.Addr().(*net.TCPAddr).Port

	probes := []struct{ path, host string }{
		{"/match", ""},
		{"/match", "www.example.com"}, // Gatehouse sends it as SNI; verifyhost is still the name
		{"/case", ""},
		{"/nomatch", ""},
		{"/nomatch", "api.svc.example.com"},
		{"/toodeep", ""},
		{"/override", ""},
	}
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		sink := startSyslogSink(t)
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    log %[1]s local0
    log-format "%%HP %%ST %%tsc %%b"
    retries 0

frontend fe
    bind 127.0.0.1:%[2]d
    use_backend match if { path /match }
    use_backend case if { path /case }
    use_backend nomatch if { path /nomatch }
    use_backend toodeep if { path /toodeep }
    use_backend override if { path /override }

backend match
    server s 127.0.0.1:%[3]d ssl verify required ca-file %[4]s verifyhost api.svc.example.com

backend case
    server s 127.0.0.1:%[3]d ssl verify required ca-file %[4]s verifyhost API.Svc.Example.COM

backend nomatch
    server s 127.0.0.1:%[3]d ssl verify required ca-file %[4]s verifyhost api.other.example.com

backend toodeep
    server s 127.0.0.1:%[3]d ssl verify required ca-file %[4]s verifyhost a.b.svc.example.com

backend override
    default-server ssl verify required ca-file %[4]s verifyhost evil.example.com
    server s 127.0.0.1:%[3]d verifyhost y.svc.example.com
`, sink.Addr, port, be, ca.File)
		stop := testenv.StartSide(t, name, cfg)
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		var out []string
		for _, p := range probes {
			req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, p.path), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.host != "" {
				req.Host = p.host
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", name, p.path, err)
			}
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s host=%q: %d", p.path, p.host, resp.StatusCode))
		}
		var logs []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			logs = nil
			for _, l := range sink.Lines(" ") {
				_, rest, _ := strings.Cut(l, "]: ")
				if rest != "" && !strings.HasPrefix(rest, "<BADREQ>") {
					logs = append(logs, rest)
				}
			}
			return len(logs) >= len(probes)
		}, "%s: %d log lines", name, len(probes))
		slices.Sort(logs)
		out = append(out, logs...)
		stop()
		results[name] = out
	}
	h, g := results["haproxy"], results["gatehouse"]
	t.Logf("haproxy: %q", h)
	if strings.Join(h, "\n") != strings.Join(g, "\n") {
		t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", strings.Join(h, "\n             "), strings.Join(g, "\n             "))
	}
	want := []string{`/match host="": 200`, `/match host="www.example.com": 200`, `/case host="": 200`,
		`/nomatch host="": 503`, `/nomatch host="api.svc.example.com": 503`, `/toodeep host="": 503`, `/override host="": 200`}
	if !slices.Equal(h[:len(want)], want) {
		t.Errorf("HAProxy answered %q, want %q", h[:len(want)], want)
	}
}

// TestVerifyHostHealthCheckMatchesHAProxy: health checks send no SNI, so
// verifyhost names the certificate they accept, in HAProxy 2.6 as in
// Gatehouse: a matching name leaves the server UP (L6OK), another one
// takes it DOWN on a failed handshake (L6RSP).
func TestVerifyHostHealthCheckMatchesHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "*.svc.example.com")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cert.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	be := ln.Addr().(*net.TCPAddr).Port
	want := map[string]string{"good/s": "UP L6OK", "bad/s": "DOWN L6RSP"}
	for _, name := range []string{"haproxy", "gatehouse"} {
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := fmt.Sprintf(`global
    stats socket %[1]s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout check 5s
frontend fe
    bind 127.0.0.1:%[2]d
    default_backend good
backend good
    server s 127.0.0.1:%[3]d ssl verify required ca-file %[4]s verifyhost api.svc.example.com check inter 300ms fall 1 rise 1
backend bad
    server s 127.0.0.1:%[3]d ssl verify required ca-file %[4]s verifyhost api.other.example.com check inter 300ms fall 1 rise 1
`, sock, testenv.FreePort(t), be, ca.File)
		stop := testenv.StartSide(t, name, cfg)
		got := map[string]string{}
		testenv.Eventually(t, 20*time.Second, func() bool {
			rows := statsColumns(runtimeCmdQuiet(sock, "show stat"))
			for k := range want {
				if r, ok := rows[k]; ok {
					got[k] = r["status"] + " " + strings.TrimPrefix(r["check_status"], "* ")
				}
			}
			return maps.Equal(got, want)
		}, "%s: servers %v, want %v", name, got, want)
		stop()
	}
}
