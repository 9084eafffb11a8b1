package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
)

// TestStatsPageOptions: stats show-node, show-desc, scope and
// http-request allow|deny|auth on a running proxy.
func TestStatsPageOptions(t *testing.T) {
	port := freePort(t)
	start(t, `
global
    node gh-node-1
    description global text
`+testDefaults+fmt.Sprintf(`
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats show-node
    stats show-desc
    stats scope .
    stats scope be1
    stats http-request deny if { hdr(x-deny) yes }
    stats http-request auth realm Ops if { hdr(x-auth) yes }
    stats http-request allow

backend be1
    server s1 127.0.0.1:1

backend be2
    server s1 127.0.0.1:1
`, port))
	get := func(path string, hdr ...string) (int, http.Header, string) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	code, _, page := get("/stats")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	for _, want := range []string{"<title>Statistics Report for Gatehouse on gh-node-1</title>",
		"Statistics Report for pid ", " on gh-node-1: global text</h2>", `<a name="stats">`, `<a name="be1">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `<a name="be2">`) {
		t.Error("stats scope lists be2")
	}
	if code, _, _ := get("/stats", "X-Deny", "yes"); code != 403 {
		t.Errorf("stats http-request deny: %d", code)
	}
	code, h, _ := get("/stats", "X-Auth", "yes")
	if code != 401 || h.Get("Www-Authenticate") != `Basic realm="Ops"` {
		t.Errorf("stats http-request auth: %d %q", code, h.Get("Www-Authenticate"))
	}
}

func TestStatsHTTPRequestWithAuthIsAnError(t *testing.T) {
	c, err := cfgparse.Parse("t.cfg", []byte(testDefaults+`
listen stats
    bind 127.0.0.1:1
    stats enable
    stats auth a:b
    stats http-request allow
`), cfgparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(c, "test")
	if err == nil || !strings.Contains(err.Error(), "stats 'auth'/'realm' and 'http-request' can't be used at the same time") {
		t.Fatalf("Build = %v", err)
	}
}
