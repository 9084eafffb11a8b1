package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// With option redispatch, a request whose server refuses the connection is
// retried on another server at once when nothing ties it to the first one
// (HAProxy 2.6's stream_choose_redispatch: not a hash, more than one active
// server), so a frozen or dead server costs one timeout connect, not
// retries × timeout connect. A hashed request keeps its server until the
// last retry. HAProxy 2.6 logs "+1" for the first two, as here.
func TestRedispatchAtOnceUnlessHashed(t *testing.T) {
	live := echoBackend(t, "live")
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens: refused
	cases := []struct {
		mode, balance string
		want          string // %s %rc of a request that met the dead server first
	}{
		{"http", "roundrobin", "live +1"},
		{"http", "static-rr", "live +1"},
		{"http", "leastconn", "live +1"},
		{"http", "first", "live +1"},
		{"http", "uri", "live +3"},
		{"tcp", "leastconn", "live +1"},
		{"tcp", "first", "live +1"},
	}
	for _, tc := range cases {
		t.Run(tc.mode+" "+tc.balance, func(t *testing.T) {
			sink, next := udpLogSink(t)
			port := freePort(t)
			start(t, testDefaults+fmt.Sprintf(`
    retries 3
    option redispatch

frontend fe
    mode %s
    bind 127.0.0.1:%d
    log udp@%s format raw local0
    log-format "%%s %%rc %%ST"
    default_backend app

backend app
    mode %s
    balance %s
    server dead %s
    server live %s
`, tc.mode, port, sink, tc.mode, tc.balance, dead, hostPort(live)))
			cl := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			var lines []string
			// Enough requests that one meets the dead server first (for
			// uri: paths until one hashes to it).
			for i := 0; i < 16; i++ {
				resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/p%d", port, i))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				l := next()
				lines = append(lines, l[strings.Index(l, "live"):])
			}
			var retried []string
			for _, l := range lines {
				if !strings.HasPrefix(l, "live 0 ") {
					retried = append(retried, l)
				}
			}
			if len(retried) == 0 {
				t.Fatalf("no request met the dead server: %q", lines)
			}
			for _, l := range retried {
				if !strings.HasPrefix(l, tc.want+" ") {
					t.Errorf("retried request logged %q, want %q", l, tc.want)
				}
			}
		})
	}
}
