package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowBackend answers "backend=NAME"; /slow waits until release is closed
// and signals started when it begins.
func slowBackend(t *testing.T, name string, started chan<- struct{}, release <-chan struct{}) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "backend=%s\n", name)
	}))
	t.Cleanup(s.Close)
	return s
}

// syslogSink receives UDP log lines.
func syslogSink(t *testing.T) (*net.UDPConn, int) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr).Port
}

// waitLog reads log datagrams until one contains every want.
func waitLog(t *testing.T, c *net.UDPConn, want ...string) {
	t.Helper()
	buf := make([]byte, 4096)
	var seen []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			break
		}
		line := string(buf[:n])
		found := true
		for _, w := range want {
			found = found && strings.Contains(line, w)
		}
		if found {
			return
		}
		seen = append(seen, line)
	}
	t.Errorf("no log line contains %q; got:\n%s", want, strings.Join(seen, "\n"))
}

// TestDrainInFlight is acceptance 2 of issue 3: draining a server through
// the runtime API or the stats page sends no new request to it while the
// request in flight on it finishes.
func TestDrainInFlight(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	methods := []struct {
		name  string
		drain func(t *testing.T, sock, url string)
	}{
		{"runtime API", func(t *testing.T, sock, _ string) {
			if got := cli(t, sock, "set server be/s1 state drain"); got != "\n" {
				t.Fatalf("set server: %q", got)
			}
		}},
		{"stats page", func(t *testing.T, _, url string) {
			resp, err := noRedirect.Post(url+"/stats", "application/x-www-form-urlencoded", strings.NewReader("s=s1&action=drain&b=be"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.Contains(loc, ";st=DONE") {
				t.Fatalf("admin POST: %d Location %q, want 303 with ;st=DONE", resp.StatusCode, loc)
			}
		}},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			started, release := make(chan struct{}, 1), make(chan struct{})
			b1 := slowBackend(t, "b1", started, release)
			b2 := slowBackend(t, "b2", started, release)
			logs, logPort := syslogSink(t)
			dir := t.TempDir()
			port := freePort(t)
			start(t, fmt.Sprintf(`
global
    stats socket %s/admin.sock level admin
    log 127.0.0.1:%d local0
`, dir, logPort)+testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats admin if LOCALHOST
    default_backend be

backend be
    server s1 %s
    server s2 %s
`, port, hostPort(b1), hostPort(b2)))
			sock := filepath.Join(dir, "admin.sock")
			url := fmt.Sprintf("http://127.0.0.1:%d", port)

			// s2 in maintenance, so the slow request lands on s1.
			cli(t, sock, "set server be/s2 state maint")
			waitLog(t, logs, "Server be/s2 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.")
			type result struct {
				body string
				err  error
			}
			slow := make(chan result, 1)
			go func() {
				resp, err := http.Get(url + "/slow")
				if err != nil {
					slow <- result{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				slow <- result{string(b), err}
			}()
			select {
			case <-started:
			case <-time.After(20 * time.Second):
				t.Fatal("the slow request never reached a server")
			}

			cli(t, sock, "set server be/s2 state ready")
			waitLog(t, logs, "Server be/s2 is UP/READY (leaving forced maintenance).")
			m.drain(t, sock, url)
			waitLog(t, logs, "Server be/s1 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.")

			for i := 0; i < 6; i++ {
				resp, err := http.Get(url + "/fast")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if b := resp.Header.Get("X-Backend"); b != "b2" {
					t.Fatalf("request %d after the drain reached %q", i, b)
				}
			}
			if csv := cli(t, sock, "show stat"); !strings.Contains(csv, "\nbe,s1,0,0,1,1,,") || !strings.Contains(csv, ",DRAIN,") {
				t.Errorf("CSV should show s1 DRAIN with its session in flight:\n%s", csv)
			}
			close(release)
			select {
			case r := <-slow:
				if r.err != nil || r.body != "backend=b1\n" {
					t.Errorf("in-flight request: %q, %v; want it to finish on b1", r.body, r.err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the in-flight request did not finish")
			}
		})
	}
}

func TestStatsAdminCondition(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    acl from_ops req.hdr(x-ops) -m str yes
    stats enable
    stats uri /stats
    stats admin if from_ops
    default_backend be

backend be
    server s1 %s
`, port, hostPort(echoBackend(t, "b1"))))
	url := fmt.Sprintf("http://127.0.0.1:%d/stats", port)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, ops, body, wantSt, wantStatus string
	}{
		{"condition false", "no", "s=s1&action=maint&b=be", ";st=DENY", "UP"},
		{"unsupported action fails", "yes", "s=s1&action=shutdown&b=be", ";st=PART", "UP"},
		{"maint", "yes", "s=s1&action=maint&b=be", ";st=DONE", "MAINT"},
		{"ready", "yes", "s=s1&action=ready&b=be", ";st=DONE", "no check"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", url, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Ops", tc.ops)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); !strings.Contains(loc, tc.wantSt) {
				t.Errorf("Location %q, want %s", loc, tc.wantSt)
			}
			resp, err = http.Get(url + ";csv")
			if err != nil {
				t.Fatal(err)
			}
			csv, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(csv), ","+tc.wantStatus+",") {
				t.Errorf("CSV does not show %q:\n%s", tc.wantStatus, csv)
			}
		})
	}
}

func TestPrometheusExporterService(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be

backend be
    server s1 %s
`, port, hostPort(echoBackend(t, "b1"))))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if resp, err := http.Get(url + "/through"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/plain; version=0.0.4" {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, ct)
	}
	for _, want := range []string{
		`haproxy_process_build_info{version="test"} 1`,
		`haproxy_frontend_http_requests_total{proxy="fe"} `,
		`haproxy_backend_http_responses_total{proxy="be",code="2xx"} 1`,
		`haproxy_server_status{proxy="be",server="s1",state="UP"} 1`,
		`haproxy_server_sessions_total{proxy="be",server="s1"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics miss %q", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool (Debian package prometheus) is required: %v", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	// HEAD: the length of the body, no body; a scope query narrows it.
	req, _ := http.NewRequest("HEAD", url+"/metrics", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength <= 0 {
		t.Errorf("HEAD /metrics: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	resp, err = http.Get(url + "/metrics?scope=backend")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "haproxy_server_") || !strings.Contains(string(body), "haproxy_backend_") {
		t.Errorf("scope=backend should keep only backend metrics")
	}
}
