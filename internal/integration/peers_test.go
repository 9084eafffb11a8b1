package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// peersNode is one process of a peers test: its name in the section, its
// frontend and its runtime API socket.
type peersNode struct {
	name, kind string // kind: "haproxy" or "gatehouse"
	fe         int
	sock       string
	cfg        string
	stop       func()
	gh         *testenv.Gatehouse // the running Gatehouse, for a reload
}

// peersConfig is the same configuration on every node but for the
// frontend and the socket: a per-source request rate limit (10 per
// minute) kept in a table shared over the 'mesh' section.
func peersConfig(sock string, fe int, peers map[string]int) string {
	var lines []string
	for _, n := range []string{"a", "b"} {
		if p, ok := peers[n]; ok {
			lines = append(lines, fmt.Sprintf("    peer %s 127.0.0.1:%d", n, p))
		}
	}
	return fmt.Sprintf(`global
    stats socket %s level admin

peers mesh
%s

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 5m peers mesh store http_req_cnt,http_req_rate(60s),conn_cur
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    http-request return status 200 content-type text/plain lf-string "cnt=%%[sc_http_req_cnt(0)]"
`, sock, strings.Join(lines, "\n"), fe)
}

func startPeersNode(t *testing.T, n *peersNode) {
	t.Helper()
	switch n.kind {
	case "haproxy":
		bin := testenv.RequireBinary(t, "haproxy")
		file := filepath.Join(t.TempDir(), "haproxy.cfg")
		writeTestFile(t, file, n.cfg)
		p := testenv.StartProcess(t, "haproxy-"+n.name, bin, "-f", file, "-L", n.name, "-db")
		p.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", n.fe), 10*time.Second)
		n.stop = func() { p.Stop() }
	default:
		g := testenv.StartGatehouse(t, n.cfg, "-L", n.name)
		n.stop = func() { g.Stop() }
		n.gh = g
	}
}

var peersCount = regexp.MustCompile(`key=127\.0\.0\.1 .*http_req_cnt=(\d+)`)

// count reads the node's http_req_cnt for 127.0.0.1 (-1: no entry).
func (n *peersNode) count(t *testing.T) int {
	m := peersCount.FindStringSubmatch(apiCLI(t, n.sock, "show table fe"))
	if m == nil {
		return -1
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

func (n *peersNode) get(t *testing.T) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", n.fe))
	if err != nil {
		t.Fatalf("%s: %v", n.name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitCount waits until n's table shows want and returns how long it took.
func (n *peersNode) waitCount(t *testing.T, want int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	testenv.Eventually(t, timeout, func() bool { return n.count(t) == want },
		"%s (%s) never showed http_req_cnt=%d (it shows %d):\n%s", n.name, n.kind, want, n.count(t), lazyCLI{t, n.sock, "show peers"})
	return time.Since(start)
}

type lazyCLI struct {
	t          *testing.T
	sock, line string
}

func (l lazyCLI) String() string { return apiCLI(l.t, l.sock, l.line) }

// sharePeers runs the acceptance of issue 20's peers: a client spreading
// its requests over both nodes is counted once, each request showing in
// the other node's table; the shared rate limit refuses it on both; each
// node, restarted, learns the table again from the other.
func sharePeers(t *testing.T, a, b *peersNode) {
	for _, n := range []*peersNode{a, b} {
		startPeersNode(t, n)
	}
	// On a failure, both sides' sessions and tables, while they run: a
	// lost count shows on both or on one side only.
	defer func() {
		if t.Failed() {
			for _, n := range []*peersNode{a, b} {
				t.Logf("%s (%s) show peers:\n%s\nshow table fe:\n%s", n.name, n.kind, apiCLI(t, n.sock, "show peers"), apiCLI(t, n.sock, "show table fe"))
			}
		}
	}()
	for _, n := range []*peersNode{a, b} {
		other := a
		if n == a {
			other = b
		}
		testenv.Eventually(t, 30*time.Second, func() bool {
			out := apiCLI(t, n.sock, "show peers")
			return strings.Contains(out, "id="+other.name+"(remote,active)") && strings.Contains(out, "last_status=ESTA")
		}, "%s never connected to %s:\n%s", n.name, other.name, lazyCLI{t, n.sock, "show peers"})
	}
	var hops []time.Duration
	for i := 1; i <= 10; i++ {
		on, other := a, b
		if i%2 == 0 {
			on, other = b, a
		}
		if code := on.get(t); code != 200 {
			t.Fatalf("request %d on %s: %d, want 200", i, on.name, code)
		}
		hops = append(hops, other.waitCount(t, i, 10*time.Second))
	}
	slices.Sort(hops)
	median := hops[len(hops)/2]
	t.Logf("a request's count reached the other node in %v (median), %v at worst (each including the runtime API reads that saw it)", median, hops[len(hops)-1])
	// Issue 20: within a second. The median, so that one hop slowed by a
	// saturated machine (a polling read of the runtime API included) does
	// not decide; the protocol pushes at once, so a slow median is not luck.
	if median > time.Second {
		t.Errorf("counts took %v (median) to reach the other node, want within a second", median)
	}
	// 10 requests a minute: the 11th is refused wherever it goes.
	if code := a.get(t); code != 429 {
		t.Errorf("11th request on %s: %d, want 429", a.name, code)
	}
	b.waitCount(t, 11, 10*time.Second)
	if code := b.get(t); code != 429 {
		t.Errorf("12th request on %s: %d, want 429", b.name, code)
	}
	a.waitCount(t, 12, 10*time.Second)

	// b restarts empty and learns the table from a; its own requests
	// reach a again.
	b.stop()
	startPeersNode(t, b)
	b.waitCount(t, 12, 30*time.Second)
	if code := b.get(t); code != 429 {
		t.Errorf("restarted %s let the client through: %d, want 429 (the learned rate)", b.name, code)
	}
	a.waitCount(t, 13, 30*time.Second)

	// a restarts and learns from b.
	a.stop()
	startPeersNode(t, a)
	a.waitCount(t, 13, 30*time.Second)
	a.get(t)
	b.waitCount(t, 14, 30*time.Second)
}

// TestPeersShareWithHAProxy (issue 20, acceptance 3): Gatehouse and
// HAProxy 2.6 share a table over the peers protocol in both directions,
// a rate limit set on both refuses a client spreading its requests over
// both, and either one restarted learns the table from the other.
func TestPeersShareWithHAProxy(t *testing.T) {
	dir := t.TempDir()
	ports := map[string]int{"a": testenv.FreePort(t), "b": testenv.FreePort(t)}
	h := &peersNode{name: "a", kind: "haproxy", fe: testenv.FreePort(t), sock: filepath.Join(dir, "h.sock")}
	g := &peersNode{name: "b", kind: "gatehouse", fe: testenv.FreePort(t), sock: filepath.Join(dir, "g.sock")}
	h.cfg = peersConfig(h.sock, h.fe, ports)
	g.cfg = peersConfig(g.sock, g.fe, ports)
	sharePeers(t, h, g)
}

// TestPeersTwoGatehouses: the same between two Gatehouse processes, and a
// reload keeps the table (in process, without a lesson) and the session.
func TestPeersTwoGatehouses(t *testing.T) {
	dir := t.TempDir()
	ports := map[string]int{"a": testenv.FreePort(t), "b": testenv.FreePort(t)}
	a := &peersNode{name: "a", kind: "gatehouse", fe: testenv.FreePort(t), sock: filepath.Join(dir, "a.sock")}
	b := &peersNode{name: "b", kind: "gatehouse", fe: testenv.FreePort(t), sock: filepath.Join(dir, "b.sock")}
	a.cfg = peersConfig(a.sock, a.fe, ports)
	b.cfg = peersConfig(b.sock, b.fe, ports)
	sharePeers(t, a, b)

	// A reload of b (the same configuration): the shared table stays, no
	// lesson is asked (in process), and counts flow both ways again.
	if err := b.gh.Reload(); err != nil {
		t.Fatal(err)
	}
	b.gh.WaitOutput(t, "reload complete", 20*time.Second)
	if c := b.count(t); c != 14 {
		t.Errorf("after the reload b counts %d, want 14 (the table kept)", c)
	}
	if out := apiCLI(t, b.sock, "show peers"); !strings.Contains(out, "flags=0x3 ") {
		t.Errorf("the reloaded section asks for a lesson:\n%s", out)
	}
	b.get(t)
	a.waitCount(t, 15, 30*time.Second)
	a.get(t)
	b.waitCount(t, 16, 30*time.Second)
}

func writeTestFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// peersTLSConfig is the 'bind' form of a peers section over mutual TLS:
// this node listens with its server certificate and wants a client
// certificate from the CA; it connects to the other with its client one
// and verifies the other's.
func peersTLSConfig(sock string, fe int, self string, selfPort int, other string, otherPort int, caFile, srvPEM, cliPEM string) string {
	return fmt.Sprintf(`global
    stats socket %s level admin

peers mesh
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required
    default-server ssl verify required ca-file %s crt %s
    server %s
    server %s 127.0.0.1:%d

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 5m peers mesh store http_req_cnt,http_req_rate(60s)
    http-request track-sc0 src
    http-request return status 200
`, sock, selfPort, srvPEM, caFile, caFile, cliPEM, self, other, otherPort, fe)
}

// TestPeersTLSWithHAProxy: the same table shared with HAProxy 2.6 over
// mutual TLS ('bind ... ssl crt ... verify required', 'default-server
// ssl verify required ca-file ... crt ...'), and a peer without a client
// certificate refused.
func TestPeersTLSWithHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	srv := ca.Issue(t, "127.0.0.1")
	cli := ca.IssueClient(t, "peer")
	dir := t.TempDir()
	pa, pb := testenv.FreePort(t), testenv.FreePort(t)
	a := &peersNode{name: "a", kind: "haproxy", fe: testenv.FreePort(t), sock: filepath.Join(dir, "a.sock")}
	b := &peersNode{name: "b", kind: "gatehouse", fe: testenv.FreePort(t), sock: filepath.Join(dir, "b.sock")}
	a.cfg = peersTLSConfig(a.sock, a.fe, "a", pa, "b", pb, ca.File, srv.PEMFile, cli.PEMFile)
	b.cfg = peersTLSConfig(b.sock, b.fe, "b", pb, "a", pa, ca.File, srv.PEMFile, cli.PEMFile)
	startPeersNode(t, a)
	startPeersNode(t, b)
	testenv.Eventually(t, 30*time.Second, func() bool {
		out := apiCLI(t, b.sock, "show peers")
		return strings.Contains(out, "id=a(remote,active)") && strings.Contains(out, "xprt=SSL")
	}, "no TLS session between the peers:\n%s", lazyCLI{t, b.sock, "show peers"})
	a.get(t)
	b.waitCount(t, 1, 10*time.Second)
	b.get(t)
	a.waitCount(t, 2, 10*time.Second)

	// Without a client certificate the handshake fails: no hello is read.
	c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", pb), ca.ClientTLS("127.0.0.1"))
	if err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "HAProxyS 2.1\nb\na 1 1\n")
		line, rerr := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if rerr == nil {
			t.Fatalf("a peer without a client certificate got %q", line)
		}
	}
}

// TestPeersListenerAcrossSF: a Gatehouse started with -sf binds its peers
// address beside the process it replaces (SO_REUSEPORT, as frontends),
// so the peers port still answers once the old process is gone.
func TestPeersListenerAcrossSF(t *testing.T) {
	dir := t.TempDir()
	ports := map[string]int{"a": testenv.FreePort(t), "b": testenv.FreePort(t)}
	fe := testenv.FreePort(t)
	cfg := peersConfig(filepath.Join(dir, "a.sock"), fe, ports)
	old := testenv.StartGatehouse(t, cfg, "-L", "a")
	peerAddr := fmt.Sprintf("127.0.0.1:%d", ports["a"])
	testenv.WaitTCP(t, peerAddr, 10*time.Second)
	next := testenv.StartGatehouse(t, cfg, "-L", "a", "-sf", strconv.Itoa(old.Cmd.Process.Pid))
	if _, err := old.Wait(30 * time.Second); err != nil {
		t.Fatalf("the old process did not finish: %v", err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", peerAddr, 2*time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "HAProxyS 2.1\na\nstranger 1 1\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line == "504\n"
	}, "the new process does not answer on the peers address; its output:\n%s", next.String())
}

// TestPeersArraysWithHAProxy: HAProxy 2.6's array types (gpt, gpc,
// gpc_rate) cross the protocol both ways: after a request on each side,
// both 'show table' lines agree.
func TestPeersArraysWithHAProxy(t *testing.T) {
	dir := t.TempDir()
	ports := map[string]int{"a": testenv.FreePort(t), "b": testenv.FreePort(t)}
	cfg := func(sock string, fe int) string {
		c := peersConfig(sock, fe, ports)
		c = strings.Replace(c, "store http_req_cnt,http_req_rate(60s),conn_cur", "store http_req_cnt,gpt(2),gpc(3),gpc_rate(2,60s)", 1)
		return strings.Replace(c, "    http-request deny deny_status 429", "    http-request sc-inc-gpc(2,0)\n    http-request sc-inc-gpc(1,0)\n    http-request sc-set-gpt(1,0) 7\n    http-request deny deny_status 429", 1)
	}
	a := &peersNode{name: "a", kind: "haproxy", fe: testenv.FreePort(t), sock: filepath.Join(dir, "a.sock")}
	b := &peersNode{name: "b", kind: "gatehouse", fe: testenv.FreePort(t), sock: filepath.Join(dir, "b.sock")}
	a.cfg, b.cfg = cfg(a.sock, a.fe), cfg(b.sock, b.fe)
	startPeersNode(t, a)
	startPeersNode(t, b)
	a.get(t)
	b.waitCount(t, 1, 20*time.Second)
	b.get(t)
	a.waitCount(t, 2, 20*time.Second)
	norm := regexp.MustCompile(`(?m)^0x[0-9a-f]+: (key=\S+) use=\d+ exp=\d+ (.*)$`)
	line := func(n *peersNode) string {
		m := norm.FindStringSubmatch(apiCLI(t, n.sock, "show table fe"))
		if m == nil {
			return ""
		}
		return m[1] + " " + m[2]
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return line(a) != "" && line(a) == line(b) },
		"the entries differ:\nhaproxy:   %s\ngatehouse: %s", lazyLine{line, a}, lazyLine{line, b})
	if l := line(b); !strings.Contains(l, "gpc2=2") || !strings.Contains(l, "gpt1=7") {
		t.Errorf("entry %s, want gpc2=2 and gpt1=7", l)
	}
	t.Logf("both: %s", line(b))
}

type lazyLine struct {
	f func(*peersNode) string
	n *peersNode
}

func (l lazyLine) String() string { return l.f(l.n) }
