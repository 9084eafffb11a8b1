package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestVarsBuild: variable names, conditions and expressions are checked
// when the runtime is built, with HAProxy's messages; the global lines
// run in order into the runtime's proc variables.
func TestVarsBuild(t *testing.T) {
	c, err := parseText(`global
    set-var proc.prio int(100)
    set-var proc.threshold int(200),sub(proc.prio)
    set-var-fmt proc.greet "hi %[var(proc.threshold)]"
` + testDefaults + `
frontend fe
    bind 127.0.0.1:18977
    http-request set-var(txn.a) path
    default_backend app
backend app
    server s1 127.0.0.1:1
`)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if n := g.Proc.Vars.Len(); n != 3 {
		t.Fatalf("%d proc variables, want 3", n)
	}
	for _, tc := range []struct{ rules, want string }{
		{"http-request set-var(foo.a) path", "invalid variable name 'foo.a'. A variable name must be start by its scope"},
		{"http-request set-var(txn.a,ifwhatever) path", `unknown condition "ifwhatever"`},
		{"http-request set-var(txn.a) nosuchfetch", "unknown fetch method 'nosuchfetch'"},
		{"http-request set-var(txn.a) res.hdr(x)", "fetch method 'res.hdr'"},
		{"http-request set-var(txn.a) int(1),add(txn.b-c)", "expects an integer or a variable name"},
		{"http-request set-var-fmt(txn.a) \"%[nosuch]\"", "unknown fetch method 'nosuch'"},
		{"acl x var(txn.a) foo\n    http-request deny if x", "matching method must be specified first (using '-m') when using a sample fetch of this type ('var')"},
	} {
		c, err := parseText(testDefaults + `
frontend fe
    bind 127.0.0.1:18977
    ` + tc.rules + `
    default_backend app
backend app
    server s1 127.0.0.1:1
`)
		if err == nil {
			var g *Graph
			if g, err = Build(c, "test"); err == nil {
				g.Close()
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.rules, err, tc.want)
		}
	}
	c, err = parseText("global\n    set-var proc.a req.hdr(host)\n" + testDefaults + "frontend fe\n    bind 127.0.0.1:18977\n")
	if err == nil {
		_, err = Build(c, "test")
	}
	if err == nil || !strings.Contains(err.Error(), "none of which is available here") {
		t.Errorf("global set-var from a request header: %v", err)
	}
}

// TestVarsH2Streams: the streams of one HTTP/2 connection share its sess
// variables (counted under a lock, run with -race) and each has its own
// txn ones; a new connection starts its own sess variables.
func TestVarsH2Streams(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    http-request set-var(sess.n) var(sess.n,0),add(1)
    http-request set-var(txn.p) path
    http-request return status 200 content-type text/plain lf-string "%%[var(sess.n)] %%[var(txn.p)]"
`, port))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(c *http.Client, p string) string {
		resp, err := c.Get(url + p)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	c := h2Client(t, nil, "")
	const n = 20
	var wg sync.WaitGroup
	counts := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("/s%d", i)
			var k int
			var got string
			if _, err := fmt.Sscanf(get(c, p), "%d %s", &k, &got); err != nil || got != p {
				t.Errorf("stream %s: count %d path %q (%v)", p, k, got, err)
			}
			counts <- k
		}()
	}
	wg.Wait()
	close(counts)
	for k := range counts {
		if k < 1 || k > n {
			t.Errorf("a stream saw count %d, want 1..%d", k, n)
		}
	}
	// No increment is lost: each set-var reads and stores as one step.
	// (A stream's answer may show a later stream's count: its return is
	// rendered after its set-var, and Gatehouse runs a connection's
	// streams in parallel where HAProxy runs their rules one at a time.)
	if got := get(c, "/final"); got != fmt.Sprintf("%d /final", n+1) {
		t.Fatalf("after %d streams: %q, want %d", n, got, n+1)
	}
	if got := get(h2Client(t, nil, ""), "/new"); got != "1 /new" {
		t.Fatalf("a new connection: %q", got)
	}
}
