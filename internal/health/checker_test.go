package health

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) log(lvl logging.Level, msg string) {
	l.mu.Lock()
	l.lines = append(l.lines, lvl.String()+" "+msg)
	l.mu.Unlock()
}

func (l *logSink) has(prefix string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func newServer(t *testing.T, cs *config.Server, addr netip.AddrPort) *upstream.Server {
	t.Helper()
	s := upstream.NewServer(cs, 1, addr)
	if _, err := upstream.NewFarm("be", []*upstream.Server{s}, config.Balance{}, upstream.FarmOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("not %s within %v", what, within)
	return 0
}

// TestRiseFall flips a server between 200 and 503 and checks the states,
// the counters and the log lines at each step, with timing bounds.
func TestRiseFall(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	addr := serve(t, func(c net.Conn) {
		resp := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
		if healthy.Load() {
			resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		}
		httpReply(resp)(c)
	})
	inter := 50 * time.Millisecond
	srv := newServer(t, &config.Server{Name: "s", Check: true, Rise: 2, Fall: 3, Weight: 1}, addr)
	sp, _ := NewSpec(&config.Proxy{HTTPCheck: &config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0"}})
	logs := &logSink{}
	c := New(Options{Backend: "be", Server: srv, Spec: sp, Target: Target{Addr: addr}, Timing: Timing{Inter: inter}, Log: logs.log})
	if got := srv.Status(); got != "UP 1/3" || c.State().Last.Status != StatusINI {
		t.Fatalf("initial: %s %s, want UP 1/3 INI (HAProxy starts servers up, health at rise)", got, c.State().Last.Status)
	}
	c.Start()
	defer c.Stop()
	waitFor(t, time.Second, "UP", func() bool { return srv.Status() == "UP" && c.State().Last.Status == StatusL7OK })

	healthy.Store(false)
	took := waitFor(t, 2*time.Second, "DOWN", func() bool { return srv.Operational() == upstream.OpDown })
	if took > 3*inter+500*time.Millisecond {
		t.Errorf("went down after %v, want about fall × inter = %v", took, 3*inter)
	}
	st := c.State()
	if st.Last.Status != StatusL7STS || st.Last.Code != 503 || st.ChkFail < 3 || srv.ChkDown() != 1 {
		t.Errorf("after down: %+v chkdown %d", st, srv.ChkDown())
	}
	if !logs.has("alert Server be/s is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check duration: ") ||
		!logs.has("emerg backend be has no server available!") {
		t.Errorf("logs: %q", logs.lines)
	}
	healthy.Store(true)
	waitFor(t, 2*time.Second, "UP again", func() bool { return srv.Operational() == upstream.OpUp })
	if !logs.has("notice Server be/s is UP, reason: Layer7 check passed, code: 200, check duration: ") ||
		!strings.Contains(strings.Join(logs.lines, "\n"), "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.") {
		t.Errorf("logs: %q", logs.lines)
	}
}

func TestDisableOn404(t *testing.T) {
	addr := serve(t, httpReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	srv := newServer(t, &config.Server{Name: "s", Check: true, Rise: 2, Fall: 3, Weight: 1}, addr)
	sp, _ := NewSpec(&config.Proxy{HTTPCheck: &config.HTTPCheck{DisableOn404: true}})
	logs := &logSink{}
	c := New(Options{Backend: "be", Server: srv, Spec: sp, Target: Target{Addr: addr}, Timing: Timing{Inter: 30 * time.Millisecond}, Log: logs.log})
	c.Start()
	defer c.Stop()
	waitFor(t, time.Second, "NOLB", func() bool { return srv.Status() == "NOLB" })
	if srv.Usable() || !srv.Reachable() {
		t.Error("a NOLB server takes no new traffic but stays reachable")
	}
	if !logs.has("notice Server be/s is stopping, reason: Layer7 check conditionally passed, code: 404, check duration: ") {
		t.Errorf("logs: %q", logs.lines)
	}
}

func TestObserve(t *testing.T) {
	cases := []struct {
		observe, onError string
		events           []upstream.Outcome
		status           int
		wantDown         bool
		wantHealth       int
	}{
		{"layer4", "mark-down", []upstream.Outcome{upstream.OutcomeL4Err, upstream.OutcomeL4Err, upstream.OutcomeL4Err}, 0, true, 0},
		{"layer4", "fail-check", []upstream.Outcome{upstream.OutcomeL4Err, upstream.OutcomeL4Err, upstream.OutcomeL4Err}, 0, false, 3},
		{"layer4", "mark-down", []upstream.Outcome{upstream.OutcomeL4Err, upstream.OutcomeL4Err, upstream.OutcomeL4OK, upstream.OutcomeL4Err}, 0, false, 4},
		{"layer4", "mark-down", []upstream.Outcome{upstream.OutcomeHTTP, upstream.OutcomeHTTP, upstream.OutcomeHTTP}, 500, false, 4},
		{"layer7", "mark-down", []upstream.Outcome{upstream.OutcomeHTTP, upstream.OutcomeHTTP, upstream.OutcomeHTTP}, 500, true, 0},
		{"layer7", "sudden-death", []upstream.Outcome{upstream.OutcomeHTTP, upstream.OutcomeHTTP, upstream.OutcomeHTTP}, 502, false, 2},
	}
	for _, tc := range cases {
		t.Run(tc.observe+"/"+tc.onError, func(t *testing.T) {
			srv := newServer(t, &config.Server{Name: "s", Check: true, Rise: 2, Fall: 3, Weight: 1}, netip.MustParseAddrPort("127.0.0.1:1"))
			sp, _ := NewSpec(&config.Proxy{})
			logs := &logSink{}
			c := New(Options{Backend: "be", Server: srv, Spec: sp, Observe: tc.observe, OnError: tc.onError, ErrorLimit: 3, Log: logs.log})
			c.apply(Result{Status: StatusL4OK}, -1) // full health: rise+fall-1 = 4
			for _, e := range tc.events {
				srv.Observe(e, tc.status)
			}
			if down := srv.Operational() == upstream.OpDown; down != tc.wantDown || srv.CheckHealth() != tc.wantHealth {
				t.Fatalf("down=%v health=%d, want %v %d (logs %q)", down, srv.CheckHealth(), tc.wantDown, tc.wantHealth, logs.lines)
			}
			if tc.wantDown && !logs.has("alert Server be/s is DOWN, reason: Health analyze, info: \"Detected 3 consecutive errors, last one was: ") {
				t.Errorf("logs: %q", logs.lines)
			}
		})
	}
}
