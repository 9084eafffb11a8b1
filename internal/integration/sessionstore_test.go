package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// storeEnv is the identity setup with its sessions in a session store, a
// Prometheus endpoint and an admin runtime API socket.
type storeEnv struct {
	*identityEnv
	Metrics string // http://127.0.0.1:PORT/metrics
	Socket  string
}

func startStoreEnv(t *testing.T, storeLine string) *storeEnv {
	t.Helper()
	mport := testenv.FreePort(t)
	sock := filepath.Join(t.TempDir(), "api.sock")
	// A plain upstream: the test is about the store, not the gateway.
	env := startIdentityEnvWith(t, &identityEnv{Upstream: fastUpstream(t),
		OIDCLines: "    " + storeLine + "\n\n" +
			fmt.Sprintf("frontend metrics\n    bind 127.0.0.1:%d\n    http-request use-service prometheus-exporter\n", mport),
		GlobalLines: "    node edge-1\n    stats socket " + sock + " level admin\n",
	})
	return &storeEnv{identityEnv: env, Metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", mport), Socket: sock}
}

// storeLogin logs alice in and returns her session cookie header value.
func storeLogin(t *testing.T, env *storeEnv) string {
	t.Helper()
	c, _ := newBrowserClient(t)
	start, _ := http.NewRequest("GET", env.Edge+"/app/home", nil)
	resp := loginHTTP(t, env.identityEnv, c, start, opUser, opPassword)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login ended with %d", resp.StatusCode)
	}
	var pairs []string
	for _, ck := range sessionCookies(t, env.identityEnv, c) {
		pairs = append(pairs, ck.Name+"="+ck.Value)
	}
	if len(pairs) != 1 || len(pairs[0]) > 120 {
		t.Fatalf("session cookies %v: want one ticket", pairs)
	}
	return pairs[0]
}

// status sends one request and returns its status (0 on a transport error).
func status(c *http.Client, url string, headers ...string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "*/*") // an API call: no session is a 401, never a login redirect
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metric reads one sample of the Prometheus endpoint.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s not in the metrics:\n%s", name, b)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// load sends requests of one kind in a loop until stop, counting statuses.
type load struct {
	mu    sync.Mutex
	count map[int]int
	last  atomic.Int64 // the last status
}

func runLoad(wg *sync.WaitGroup, stop <-chan struct{}, url string, headers ...string) *load {
	l := &load{count: map[int]int{}}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := status(c, url, headers...)
			l.mu.Lock()
			l.count[s]++
			l.mu.Unlock()
			l.last.Store(int64(s))
		}
	}()
	return l
}

func (l *load) counts() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]int{}
	for k, v := range l.count {
		out[k] = v
	}
	return out
}

// Issue 20 acceptance 2: redis-server killed under load. Requests that need
// a session get 503 (never a pass, never a 401 that would send a browser
// to log in again); bearer and public requests are served throughout; the
// failure is logged at most once a second and counted in a metric; when
// the server returns (with its append-only file), the same session is
// served again within five seconds: nothing written before was lost. Then
// the runtime API lists the session and ends it on every replica.
func TestSessionStoreFaultsUnderLoad(t *testing.T) {
	redis := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	env := startStoreEnv(t, "session-store redis "+redis.Addr+" prefix itest:")
	cookie := storeLogin(t, env)
	bearer := clientCredentials(t, env.identityEnv, "robot-staff", apiAudience)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sessions []*load
	for range 3 {
		sessions = append(sessions, runLoad(&wg, stop, env.Edge+"/app/items", "Cookie", cookie))
	}
	bearers := runLoad(&wg, stop, env.Edge+"/app/items", "Authorization", "Bearer "+bearer)
	public := runLoad(&wg, stop, env.Edge+"/public/items")
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	testenv.Eventually(t, 20*time.Second, func() bool {
		return sessions[0].counts()[200] > 20 && bearers.counts()[200] > 20 && public.counts()[200] > 20
	}, "load not served before the fault: %v %v %v", sessions[0].counts(), bearers.counts(), public.counts())

	redis.Kill()
	down := time.Now()
	testenv.Eventually(t, 10*time.Second, func() bool { return sessions[0].last.Load() == 503 },
		"session requests not refused with 503 after the store died: %v", sessions[0].counts())
	// Keep the load on while the store is down.
	before := bearers.counts()[200]
	testenv.Eventually(t, 20*time.Second, func() bool {
		return time.Since(down) > 3*time.Second && bearers.counts()[200] > before+20
	}, "bearer requests not served while the store is down: %v", bearers.counts())
	if n := metric(t, env.Metrics, `gatehouse_oidc_session_store_errors_total{oidc="corp"}`); n < 1 {
		t.Errorf("gatehouse_oidc_session_store_errors_total = %v with the store down", n)
	}

	redis.Restart()
	back := time.Now()
	outage := back.Sub(down)
	testenv.Eventually(t, 20*time.Second, func() bool {
		for _, l := range sessions {
			if l.last.Load() != 200 {
				return false
			}
		}
		return true
	}, "session not served again after the store returned: %v", sessions[0].counts())
	recovered := time.Since(back)
	t.Logf("store down %v; sessions served again %v after it returned", outage.Round(time.Millisecond), recovered.Round(time.Millisecond))
	if recovered > 5*time.Second {
		t.Errorf("served again %v after the store returned, want within 5s", recovered)
	}
	close(stop)
	wg.Wait()

	for i, l := range sessions {
		// Failing closed is fast: a request does not wait out retries.
		if n := l.counts()[503]; n < 20 {
			t.Errorf("session load %d: %d answers of 503 over a %v outage; each request waited for the dead store", i, n, outage)
		}
		for s, n := range l.counts() {
			if s != 200 && s != 503 {
				t.Errorf("session load %d: %d answers with status %d (only 200 and 503 are right): %v", i, n, s, l.counts())
			}
		}
	}
	for name, l := range map[string]*load{"bearer": bearers, "public": public} {
		if c := l.counts(); len(c) != 1 || c[200] == 0 {
			t.Errorf("%s requests were not all served: %v", name, c)
		}
	}
	out := env.Gatehouse.String()
	// Each event is logged and also printed on stderr in HAProxy's format
	// ("[ALERT]    (pid) : ..."): count the stderr form, once per event.
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[") && strings.Contains(l, "session store unreachable") {
			lines++
		}
	}
	// At most once a second over the outage, plus the second it started in.
	if limit := int(outage/time.Second) + 2; lines < 1 || lines > limit {
		t.Errorf("%d 'session store unreachable' lines over a %v outage (want 1..%d)", lines, outage, limit)
	}
	if !strings.Contains(out, "session store reachable again") {
		t.Error("the recovery was not logged")
	}

	// The runtime API lists the sessions and ends them: one by its id,
	// the other with every session of its subject.
	second := storeLogin(t, env)
	list := apiCLI(t, env.Socket, "show identity sessions corp")
	if strings.Count(list, "\ncorp ") != 2 {
		t.Fatalf("show identity sessions with two logins:\n%s", list)
	}
	secondID, _, _ := strings.Cut(strings.SplitN(second, "=", 2)[1], ".")
	if got := apiCLI(t, env.Socket, "del identity session "+secondID); !strings.HasPrefix(got, "Session ended.") {
		t.Fatalf("del identity session: %q", got)
	}
	if got := apiCLI(t, env.Socket, "del identity session "+secondID); !strings.HasPrefix(got, "No such session.") {
		t.Fatalf("del identity session again: %q", got)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	testenv.Eventually(t, 10*time.Second, func() bool { return status(c, env.Edge+"/app/items", "Cookie", second) == 401 },
		"session still served after del identity session")
	list = apiCLI(t, env.Socket, "show identity sessions corp")
	if !strings.Contains(list, "# oidc id sub sid email created last_seen replica") || !strings.Contains(list, " edge-1\n") ||
		strings.Count(list, "\ncorp ") != 1 {
		t.Fatalf("show identity sessions:\n%s", list)
	}
	if got := apiCLI(t, env.Socket, "del identity sessions corp sub "+strings.Fields(strings.Split(list, "\n")[1])[2]); !strings.HasPrefix(got, "1 session(s) ended.") {
		t.Fatalf("del identity sessions: %q", got)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return status(c, env.Edge+"/app/items", "Cookie", cookie) == 401 },
		"session still served after del identity sessions")
}

// Issue 20 acceptance 2, Sentinel: a primary, a replica and three
// sentinels; killing the primary loses no session (the same cookie is
// served after the failover, no new login) and the edge serves again
// within the failover time, answering 503 (never 401) meanwhile.
func TestSessionStoreSentinelFailover(t *testing.T) {
	primary := testenv.StartRedis(t)
	replica := testenv.StartRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
	testenv.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(testenv.RedisCommandAll(replica.Addr, "INFO", "replication"), "master_link_status:up")
	}, "replica never linked to the primary")
	const downAfter = time.Second
	var sentinels []string
	for range 3 {
		sentinels = append(sentinels, testenv.StartSentinel(t, "gh", primary.Addr, 2, downAfter).Addr)
	}
	env := startStoreEnv(t, "session-store redis sentinel gh "+strings.Join(sentinels, " "))
	cookie := storeLogin(t, env)
	c := &http.Client{Timeout: 10 * time.Second}
	if s := status(c, env.Edge+"/app/items", "Cookie", cookie); s != 200 {
		t.Fatalf("session refused before the failover: %d", s)
	}
	// The session reached the replica (replication is asynchronous: a
	// session written in the instant before a primary dies can be lost,
	// as any write to Redis can).
	testenv.Eventually(t, 20*time.Second, func() bool {
		return len(redisArray(replica.Addr, "KEYS", "gatehouse:corp:s:*")) == 1
	}, "the session never reached the replica")

	primary.Kill()
	killed := time.Now()
	var seen []int
	var failedOver time.Time // when the sentinels named the replica primary
	testenv.Eventually(t, 60*time.Second, func() bool {
		if failedOver.IsZero() {
			if a := sentinelMaster(sentinels[0], "gh"); a == strconv.Itoa(replica.Port) {
				failedOver = time.Now()
			}
		}
		s := status(c, env.Edge+"/app/items", "Cookie", cookie)
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		return s == 200 && !failedOver.IsZero()
	}, "session not served after the failover; statuses %v", seen)
	served := time.Now()
	for _, s := range seen {
		if s != 200 && s != 503 {
			t.Fatalf("statuses during the failover %v: only 200 and 503 are right", seen)
		}
	}
	if !strings.Contains(testenv.RedisCommandAll(replica.Addr, "INFO", "replication"), "role:master") {
		t.Fatal("the replica was not promoted")
	}
	t.Logf("primary killed; sentinels failed over after %v, the same session served again after %v (down-after %v); statuses %v",
		failedOver.Sub(killed).Round(time.Millisecond), served.Sub(killed).Round(time.Millisecond), downAfter, seen)
	if lag := served.Sub(failedOver); lag > 3*time.Second {
		t.Errorf("served again %v after the failover, want within 3s", lag)
	}
}

// sentinelMaster is the port of the primary a sentinel names for master.
func sentinelMaster(addr, master string) string {
	out := redisArray(addr, "SENTINEL", "get-master-addr-by-name", master)
	if len(out) != 2 {
		return ""
	}
	return out[1]
}

// redisArray runs a command answering an array of bulk strings.
func redisArray(addr string, words ...string) []string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", strings.Join(words, " ")); err != nil {
		return nil
	}
	br := bufio.NewReader(c)
	head, _ := br.ReadString('\n')
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "*")))
	if !strings.HasPrefix(head, "*") || err != nil {
		return nil
	}
	var out []string
	for range n {
		if _, err := br.ReadString('\n'); err != nil { // $len
			return nil
		}
		v, err := br.ReadString('\n')
		if err != nil {
			return nil
		}
		out = append(out, strings.TrimRight(v, "\r\n"))
	}
	return out
}

// Issue 20 section 1 (acceptance 1's refresh part, on loopback): three
// replicas share a redis session store; requests in the refresh window
// spread over the three cause exactly one refresh at node's oidc-provider
// (which rotates refresh tokens and revokes the grant on reuse) and no
// failed request: the replica that takes the store's lock redeems, the
// others use its result. Twice, so the renewed session is refreshed again.
func TestSessionStoreRefreshAcrossReplicas(t *testing.T) {
	redis := testenv.StartRedis(t)
	const ttl = 8 * time.Second
	env := startIdentityEnvWith(t, &identityEnv{Upstream: fastUpstream(t), AccessTTL: ttl,
		OIDCLines: "    refresh-before 1s\n    session-store redis " + redis.Addr})
	cfg, err := os.ReadFile(env.Gatehouse.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	edges := []string{env.Edge}
	for range 2 {
		port := testenv.FreePort(t)
		other := strings.Replace(string(cfg), fmt.Sprintf("bind 127.0.0.1:%d", env.EdgePort), fmt.Sprintf("bind 127.0.0.1:%d", port), 1)
		testenv.StartGatehouse(t, other)
		edges = append(edges, fmt.Sprintf("http://localhost:%d", port))
	}
	c, _ := newBrowserClient(t)
	start, _ := http.NewRequest("GET", env.Edge+"/app/start", nil)
	resp := loginHTTP(t, env, c, start, opUser, opPassword)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login ended with %d", resp.StatusCode)
	}
	cookie := cookieHeader(sessionCookies(t, env, c))
	issued := time.Now()
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Every replica (its provider discovered) serves the session.
	for _, e := range edges {
		testenv.Eventually(t, 30*time.Second, func() bool { return status(client, e+"/app/items", "Cookie", cookie) == 200 },
			"replica %s does not serve the session", e)
	}
	for round := 1; round <= 2; round++ {
		// The access token has expired: every request needs the refresh.
		time.Sleep(time.Until(issued.Add(ttl + 1100*time.Millisecond)))
		const n = 4
		got := make(chan int, n)
		for i := range n {
			go func() { got <- status(client, fmt.Sprintf("%s/app/items?i=%d", edges[i%3], i), "Cookie", cookie) }()
		}
		var statuses []int
		for range n {
			select {
			case s := <-got:
				statuses = append(statuses, s)
			case <-time.After(40 * time.Second):
				t.Fatalf("round %d: only %d of %d requests answered", round, len(statuses), n)
			}
		}
		issued = time.Now()
		for _, s := range statuses {
			if s != 200 {
				t.Fatalf("round %d: statuses %v, want 200 for all (the same cookie, refreshed in the store)", round, statuses)
			}
		}
		if ok, refused := opGrants(t, env); ok != round || refused != 0 {
			t.Fatalf("round %d: the provider saw %d refresh grants succeed and %d refused; want %d and 0", round, ok, refused, round)
		}
	}
}
