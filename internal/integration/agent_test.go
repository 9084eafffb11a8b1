package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// testAgent is a tiny agent-check agent: every connection reads what the
// proxy sends (agent-send "hello\n", which every server of the test
// sets) and gets the current answer. served counts the connections answered since the last Set.
type testAgent struct {
	ln     net.Listener
	mu     sync.Mutex
	answer string
	served atomic.Int64
	sent   atomic.Value // last string received
}

func startTestAgent(t *testing.T) *testAgent {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &testAgent{ln: ln, answer: "100%"}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.serve(c)
		}
	}()
	return a
}

func (a *testAgent) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 256)
	n, _ := c.Read(buf) // agent-send ends with a newline: one read has it
	a.sent.Store(string(buf[:n]))
	a.mu.Lock()
	ans := a.answer
	a.mu.Unlock()
	io.WriteString(c, ans+"\n")
	a.served.Add(1)
}

func (a *testAgent) Set(ans string) {
	a.mu.Lock()
	a.answer = ans
	a.served.Store(0)
	a.mu.Unlock()
}

func (a *testAgent) Port() int { return a.ln.Addr().(*net.TCPAddr).Port }

// agentView is what is compared after each answer: for each server, the
// runtime API's operational and admin states and weights (show servers
// state) and the stats' status, weight and session limit (show stat).
func agentView(t *testing.T, sock string, agentPort int) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(runtimeCmd(t, sock, "show servers state b"), "\n") {
		f := strings.Fields(line)
		if len(f) > 8 && !strings.HasPrefix(line, "#") {
			fmt.Fprintf(&b, "%s op=%s admin=%s uweight=%s iweight=%s; ", f[3], f[5], f[6], f[7], f[8])
			if len(f) > 24 {
				// Bit 0x01 (a check in progress) depends on timing.
				st, _ := strconv.Atoi(f[14])
				port := f[24]
				if port == strconv.Itoa(agentPort) {
					port = "AGENT" // each proxy has its own agent
				}
				fmt.Fprintf(&b, "%s agent_state=%d agent_addr=%s agent_port=%s; ", f[3], st&^1, f[23], port)
			}
		}
	}
	csv := runtimeCmd(t, sock, "show stat")
	lines := strings.Split(csv, "\n")
	if len(lines) == 0 {
		t.Fatalf("show stat: %q", csv)
	}
	hdr := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	col := map[string]int{}
	for i, h := range hdr {
		col[h] = i
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) < len(hdr) || f[0] != "b" || f[1] == "BACKEND" || f[1] == "FRONTEND" {
			continue
		}
		fmt.Fprintf(&b, "%s status=%q weight=%s slim=%s; ", f[1], f[col["status"]], f[col["weight"]], f[col["slim"]])
		// The agent's columns. A check in progress ("* ") depends on
		// timing, and has no last_agt yet (HAProxy clears it as a check
		// starts): that one is not compared then.
		agent, last := f[col["agent_status"]], f[col["last_agt"]]
		if strings.HasPrefix(agent, "* ") {
			agent, last = agent[2:], "(in progress)"
		}
		fmt.Fprintf(&b, "%s agent=%q code=%s desc=%q last=%q health=%s rise=%s fall=%s; ", f[1],
			agent, f[col["agent_code"]], f[col["agent_desc"]], last,
			f[col["agent_health"]], f[col["agent_rise"]], f[col["agent_fall"]])
	}
	return b.String()
}

// TestAgentCheckMatchesHAProxy: HAProxy 2.6 and Gatehouse each poll their
// own agent, which answers the same sequence (weights, admin states,
// health words, maxconn, words combined by commas and spaces, errors); s1
// has the agent alone, s2 a health check too. After each answer has been
// served twice, both proxies must show the same states, weights and
// limits.
func TestAgentCheckMatchesHAProxy(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(web.Close)
	steps := []string{
		"75%",
		"drain",
		"ready 50%",
		"down",
		"down # maintenance window",
		"up",
		"maint",
		"ready,100%",
		"STOPPED",
		"up,maxconn:30 120%",
		"fail",
		"up ready",
		"bogus 60%",
		"200%",
		"maxconn:x",
		"drain, 0%",
		"ready 100%",
	}
	type side struct {
		sock  string
		agent *testAgent
		views []string
	}
	sides := map[string]*side{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		sd := &side{sock: t.TempDir() + "/admin.sock", agent: startTestAgent(t)}
		sides[name] = sd
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen b
    bind 127.0.0.1:%d
    balance roundrobin
    server s1 %s weight 10 agent-check agent-port %d agent-inter 200ms agent-send "hello\n"
    server s2 %s weight 4 maxconn 50 check inter 200ms agent-check agent-addr 127.0.0.1 agent-port %d agent-inter 200ms agent-send "hello\n"
`, sd.sock, port, web.Listener.Addr(), sd.agent.Port(), web.Listener.Addr(), sd.agent.Port())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		for _, st := range steps {
			sd.agent.Set(st)
			// Both servers poll every 200ms: four answers served means each
			// server has applied this one at least once.
			testenv.Eventually(t, 30*time.Second, func() bool { return sd.agent.served.Load() >= 4 },
				"%s: the agent was not asked after answering %q", name, st)
			// A check running when the view is taken shows its last
			// answer as "(in progress)": take the view between checks.
			var view string
			testenv.Eventually(t, 30*time.Second, func() bool {
				view = agentView(t, sd.sock, sd.agent.Port())
				return !strings.Contains(view, "(in progress)")
			}, "%s: a check was always in progress after %q", name, st)
			sd.views = append(sd.views, view)
		}
		if got, _ := sd.agent.sent.Load().(string); got != "hello\n" {
			t.Errorf("%s: the agent received %q, want agent-send's \"hello\\n\"", name, got)
		}
	}
	for i, st := range steps {
		h, g := sides["haproxy"].views[i], sides["gatehouse"].views[i]
		t.Logf("after %q:\n  haproxy:   %s\n  gatehouse: %s", st, h, g)
		if h != g {
			t.Errorf("after agent answer %q:\n  haproxy:   %s\n  gatehouse: %s", st, h, g)
		}
	}
}
