package health

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

func agentServer(t *testing.T, weight int) *upstream.Server {
	t.Helper()
	cs := &config.Server{Name: "s", Host: "127.0.0.1", Port: 80, Weight: weight, Rise: 2, Fall: 3}
	s := upstream.NewServer(cs, 1, netip.MustParseAddrPort("127.0.0.1:80"))
	if _, err := upstream.NewFarm("be", []*upstream.Server{s}, config.Balance{Algo: "roundrobin"}, upstream.FarmOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAgentWords applies agent answers in sequence as HAProxy 2.6's
// tcpcheck_agent_expect_reply reads them: words in any order, separated
// by spaces, tabs or commas, case-insensitive, the last of a kind winning;
// the admin state first, then the weight (relative to the configured one),
// maxconn, then the health; a word it does not know is reported, not fatal.
func TestAgentWords(t *testing.T) {
	s := agentServer(t, 10)
	a := NewAgent(AgentOptions{Backend: "be", Server: s})
	for _, tc := range []struct {
		line       string
		op         upstream.OpState
		admin      upstream.AdminState
		weight     int
		maxconn    int
		status     Status
		info       string
		agentAlive int
	}{
		{"75%", upstream.OpUp, upstream.AdminReady, 7, 0, StatusCHECKED, "", 1},
		{"drain", upstream.OpUp, upstream.AdminDrain, 7, 0, StatusCHECKED, "", 1},
		{"ready\t50%,maxconn:20", upstream.OpUp, upstream.AdminReady, 5, 20, StatusCHECKED, "", 1},
		{"DOWN # going away", upstream.OpDown, upstream.AdminReady, 5, 20, StatusL7STS, "via agent : DOWN (going away)", 0},
		{"up, 10% 90%", upstream.OpUp, upstream.AdminReady, 9, 20, StatusL7OK, "via agent : up", 1},
		{"maint", upstream.OpUp, upstream.AdminMaint, 9, 20, StatusCHECKED, "", 1},
		{"ready nonsense", upstream.OpUp, upstream.AdminReady, 9, 20, StatusCHECKED, "agent reports an error : nonsense", 1},
		{"maxconn:12x", upstream.OpUp, upstream.AdminReady, 9, 20, StatusCHECKED, "agent warns : Trailing garbage in maxconn string", 1},
		{"stopped 3000%", upstream.OpDown, upstream.AdminReady, 256, 20, StatusL7STS, "via agent : stopped", 0},
		{"up oops", upstream.OpUp, upstream.AdminReady, 256, 20, StatusL7OK, "via agent : up (oops)", 1},
		{"fail", upstream.OpDown, upstream.AdminReady, 256, 20, StatusL7STS, "via agent : fail", 0},
	} {
		res := a.apply(tc.line)
		if s.Operational() != tc.op || s.Admin() != tc.admin || s.Weight() != tc.weight || s.MaxConn() != tc.maxconn {
			t.Errorf("%q: op %v admin %v weight %d maxconn %d, want %v %v %d %d", tc.line,
				s.Operational(), s.Admin(), s.Weight(), s.MaxConn(), tc.op, tc.admin, tc.weight, tc.maxconn)
		}
		if res.Status != tc.status || res.Info != tc.info {
			t.Errorf("%q: result %v %q, want %v %q", tc.line, res.Status, res.Info, tc.status, tc.info)
		}
		if got := s.AgentHealth(); got != tc.agentAlive {
			t.Errorf("%q: agent health %d, want %d", tc.line, got, tc.agentAlive)
		}
	}
}

// TestAgentDownHoldsHealthCheck: after the agent said "down", passing
// health checks do not bring the server back; the agent's "up" does, and
// sets the check's health to its maximum.
func TestAgentDownHoldsHealthCheck(t *testing.T) {
	s := agentServer(t, 1)
	c := New(Options{Backend: "be", Server: s, Spec: &Spec{}})
	a := NewAgent(AgentOptions{Backend: "be", Server: s, Main: c})
	a.apply("down")
	if s.Operational() != upstream.OpDown || s.CheckHealth() != 0 {
		t.Fatalf("after down: op %v health %d", s.Operational(), s.CheckHealth())
	}
	for range 6 {
		c.apply(Result{Status: StatusL4OK}, -1)
	}
	if s.Operational() != upstream.OpDown {
		t.Fatalf("passing checks brought the server up against the agent")
	}
	a.apply("up")
	if s.Operational() != upstream.OpUp || s.CheckHealth() != s.Rise()+s.Fall()-1 {
		t.Fatalf("after up: op %v health %d", s.Operational(), s.CheckHealth())
	}
}

// TestAgentExchange: the agent check sends agent-send and reads the first
// line; a refused connection changes nothing.
func TestAgentExchange(t *testing.T) {
	got := make(chan string, 1)
	addr := serve(t, func(c net.Conn) {
		b := make([]byte, 64)
		n, _ := c.Read(b)
		got <- string(b[:n])
		c.Write([]byte("drain 50%\r\nignored\n"))
	})
	s := agentServer(t, 4)
	a := NewAgent(AgentOptions{Backend: "be", Server: s, Addr: addr.Addr(), Port: int(addr.Port()), Send: []byte("ping\n"), Timing: Timing{Inter: 10e9}})
	a.checkOnce(context.Background())
	if g := <-got; g != "ping\n" {
		t.Errorf("agent received %q", g)
	}
	if s.Admin() != upstream.AdminDrain || s.Weight() != 2 {
		t.Errorf("admin %v weight %d, want DRAIN 2", s.Admin(), s.Weight())
	}
	port := testenv.RefusedPort(t)
	b := NewAgent(AgentOptions{Backend: "be", Server: s, Addr: addr.Addr(), Port: port, Timing: Timing{Inter: 10e9}})
	b.checkOnce(context.Background())
	if st := b.State(); st.Last.Status != StatusL4CON || s.Operational() != upstream.OpUp || s.Admin() != upstream.AdminDrain {
		t.Errorf("refused agent: status %v, server %v %v", st.Last.Status, s.Operational(), s.Admin())
	}
}
