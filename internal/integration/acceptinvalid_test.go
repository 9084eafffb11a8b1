package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestAcceptInvalidAsHAProxy: option accept-invalid-http-request and
// -response, side by side with HAProxy 2.6. With them, the characters
// HAProxy then accepts in the request-target ('#', bytes 0x80-0xff) and in
// field names (space, '@', '(', controls, bytes 0x80-0xff) pass, and reach
// the server (or the client) as received; controls in the target and an
// empty name stay refused. Without them every case is refused.
func TestAcceptInvalidAsHAProxy(t *testing.T) {
	reqs := []string{
		"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a#b?c HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nFoo Bar: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nFoo@x(: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nFo\xc3\xa9\x01: 3\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: 4\r\n\r\n",
		"GET /resp HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	// What a message leaves of itself: the status line, the request line
	// and odd field the server got, the odd field the client got. Both
	// ends read raw bytes: Go's parser refuses those names.
	outcome := func(t *testing.T, port int, be *rawHeads, req string) string {
		c, err := net.Dial("tcp", testenv.LocalAddr(port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, req)
		head, err := readRawHead(bufio.NewReader(c))
		if err != nil {
			return "no answer: " + err.Error()
		}
		lines := strings.Split(head, "\r\n")
		out := strings.SplitN(lines[0], " ", 3)[1]
		for _, l := range lines[1:] {
			if strings.HasPrefix(strings.ToLower(l), "bad name@") {
				out += fmt.Sprintf(" client got %q", strings.ToLower(l))
			}
		}
		if got, ok := be.take(); ok {
			lines := strings.Split(got, "\r\n")
			out += fmt.Sprintf(" server got %q", lines[0])
			for _, l := range lines[1:] {
				if n, _, ok := strings.Cut(l, ":"); ok && strings.ContainsAny(n, " @(\x01\xa9") {
					out += fmt.Sprintf(" %q", strings.ToLower(l))
				}
			}
		}
		return out
	}
	for _, opts := range []string{"", "option accept-invalid-http-request\n    option accept-invalid-http-response"} {
		results := map[string][]string{}
		for _, name := range []string{"haproxy", "gatehouse"} {
			be := startRawHeads(t)
			port := testenv.FreePort(t)
			cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    %s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s1 %s
`, opts, port, be.ln.Addr())
			if name == "haproxy" {
				testenv.StartHAProxy(t, cfg)
			} else {
				testenv.StartGatehouse(t, cfg)
			}
			for _, r := range reqs {
				results[name] = append(results[name], outcome(t, port, be, r))
			}
		}
		for i, r := range reqs {
			h, g := results["haproxy"][i], results["gatehouse"][i]
			if h != g {
				t.Errorf("options %q, %q:\n   haproxy: %s\n gatehouse: %s", opts, r, h, g)
			} else {
				t.Logf("options %q, %q: %s", opts, r, g)
			}
		}
	}
}

// rawHeads is a server that records each request head as received and
// answers 200, with an invalid field name for /resp.
type rawHeads struct {
	ln    net.Listener
	mu    sync.Mutex
	heads []string
}

func startRawHeads(t *testing.T) *rawHeads {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawHeads{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				for {
					head, err := readRawHead(br)
					if err != nil {
						return
					}
					b.mu.Lock()
					b.heads = append(b.heads, head)
					b.mu.Unlock()
					extra := ""
					if strings.HasPrefix(head, "GET /resp ") {
						extra = "Bad Name@: 5\r\n"
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n%s\r\nok", extra)
				}
			}()
		}
	}()
	return b
}

// take returns the head received since the last take, if any.
func (b *rawHeads) take() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.heads) == 0 {
		return "", false
	}
	h := b.heads[len(b.heads)-1]
	b.heads = nil
	return h, true
}

// readRawHead reads up to the empty line ending a head (bodiless messages).
func readRawHead(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if l == "\r\n" {
			return strings.TrimSuffix(sb.String(), "\r\n"), nil
		}
		sb.WriteString(l)
	}
}
