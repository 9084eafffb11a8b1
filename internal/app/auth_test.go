package app

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestHTTPRequestAuth: "http-request auth" challenges with the realm (the
// proxy's name by default) unless the credentials check out; a group ACL
// tells users apart; a 401 errorfile carries the challenge instead of its
// own WWW-Authenticate. Over HTTP/1.1 and HTTP/2 alike.
func TestHTTPRequestAuth(t *testing.T) {
	be := echoBackend(t, "b1")
	port, h2Port := freePort(t), freePort(t)
	ef := filepath.Join(t.TempDir(), "401.http")
	if err := os.WriteFile(ef, []byte("HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nWWW-Authenticate: Basic realm=\"file\"\r\nX-Page: custom\r\nContent-Length: 5\r\n\r\nnope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, testDefaults+fmt.Sprintf(`
userlist users
    group admins users root
    user root password $5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5
    user guest insecure-password guest

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    acl is_admin http_auth_group(users) admins
    http-request auth realm "Staff only" if { path_beg /admin } !is_admin
    http-request auth if { path_beg /private } !{ http_auth(users) }
    default_backend app

backend app
    errorfile 401 %s
    acl back_ok http_auth(users)
    http-request auth realm back if { path_beg /back } !back_ok
    server s1 %s
`, port, h2Port, ef, hostPort(be)))
	for _, cl := range []struct {
		url    string
		client *http.Client
	}{{fmt.Sprintf("http://127.0.0.1:%d", port), http.DefaultClient}, {fmt.Sprintf("http://127.0.0.1:%d", h2Port), h2Client(t, nil, "")}} {
		authCases(t, cl.url, cl.client, cl.client != http.DefaultClient)
	}
}

func authCases(t *testing.T, url string, client *http.Client, h2 bool) {
	for _, c := range []struct {
		path, user, pass string
		status           int
		challenge        string
	}{
		{"/admin/x", "", "", 401, `Basic realm="Staff only"`},
		{"/admin/x", "root", "Hello world!", 200, ""},
		{"/admin/x", "guest", "guest", 401, `Basic realm="Staff only"`},
		{"/admin/x", "root", "hello", 401, `Basic realm="Staff only"`},
		{"/private", "", "", 401, `Basic realm="fe"`},
		{"/private", "guest", "guest", 200, ""},
		{"/private", "nobody", "guest", 401, `Basic realm="fe"`},
		{"/back", "", "", 401, `Basic realm="back"`},
		{"/back", "guest", "guest", 200, ""},
		{"/open", "", "", 200, ""},
	} {
		req, _ := http.NewRequest("GET", url+c.path, nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if (resp.ProtoMajor == 2) != h2 {
			t.Fatalf("%s: answered in %s", url, resp.Proto)
		}
		got := resp.Header.Values("WWW-Authenticate")
		if resp.StatusCode != c.status || (c.challenge == "" && len(got) != 0) || (c.challenge != "" && (len(got) != 1 || got[0] != c.challenge)) {
			t.Errorf("%s %s as %q: %d %q, want %d %q", resp.Proto, c.path, c.user, resp.StatusCode, got, c.status, c.challenge)
		}
		if c.path == "/back" && c.status == 401 && (resp.Header.Get("X-Page") != "custom" || string(body) != "nope\n") {
			t.Errorf("/back: the 401 errorfile was not used: %q %q", resp.Header, body)
		}
		if c.path == "/private" && c.status == 401 && resp.Header.Get("Content-Type") != "text/html" {
			t.Errorf("/private: %q", resp.Header)
		}
	}
}
