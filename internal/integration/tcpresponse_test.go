package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// startScriptServer serves every connection with script, on loopback.
func startScriptServer(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
				script(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// hold keeps a server connection open until the peer ends it.
func hold(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

func tcpResponseConfig(sock string, ports map[string]int, servers map[string]string) string {
	return fmt.Sprintf(`global
    log stdout format raw local0
    stats socket %s level admin

defaults
    mode tcp
    log global
    log-format "%%cp %%b/%%s %%ts %%B v=%%[var(sess.v)]"
    timeout connect 5s
    timeout client 10s
    timeout server 10s

listen bad
    bind 127.0.0.1:%d
    tcp-response inspect-delay 5s
    tcp-response content reject if { res.payload(0,3) -m str BAD }
    tcp-response content accept if { res.len ge 3 }
    server s %s

listen ok
    bind 127.0.0.1:%d
    tcp-response inspect-delay 5s
    tcp-response content reject if { res.payload(0,3) -m str BAD }
    tcp-response content accept if { res.len ge 3 }
    server s %s

listen slow
    bind 127.0.0.1:%d
    tcp-response inspect-delay 400ms
    tcp-response content accept if { res.len ge 4 }
    tcp-response content reject if WAIT_END
    server s %s

listen later
    bind 127.0.0.1:%d
    tcp-response inspect-delay 5s
    tcp-response content set-var(sess.v) res.len
    tcp-response content accept if { res.len ge 4 }
    tcp-response content reject if WAIT_END
    server s %s

listen bye
    bind 127.0.0.1:%d
    tcp-response inspect-delay 5s
    tcp-response content close if { res.payload(0,3) -m str BYE }
    server s %s

listen quiet
    bind 127.0.0.1:%d
    tcp-response inspect-delay 5s
    tcp-response content set-log-level silent if { res.payload(0,5) -m str QUIET }
    server s %s

listen gpc
    bind 127.0.0.1:%d
    stick-table type ip size 10 store gpc0
    tcp-request connection track-sc0 src
    tcp-response inspect-delay 5s
    tcp-response content set-var(sess.v) res.payload(0,3)
    tcp-response content sc-inc-gpc0(0) if { res.payload(0,3) -m str ERR }
    server s %s
`, sock,
		ports["bad"], servers["bad"], ports["ok"], servers["ok"], ports["slow"], servers["slow"],
		ports["later"], servers["later"], ports["bye"], servers["bye"], ports["quiet"], servers["quiet"],
		ports["gpc"], servers["gpc"])
}

// TestTCPResponseMatchesHAProxy: tcp-response content rules on the
// server's first bytes, in HAProxy 2.6 and Gatehouse on the same config
// and traffic: a banner rejected on its first bytes (nothing reaches the
// client, logged PD), one accepted (banner and echo pass), a rule waiting
// for bytes that never come until inspect-delay expires (WAIT_END
// rejects, not before the delay), bytes that come later because the
// client spoke (the inspection goes on while the client's data flows),
// close (the banner reaches the client, then the end, while the server
// would have held on), set-log-level silent, and sc-inc-gpc0 counted from
// the response into the table of the tracked source. The client's reads,
// the log lines and the table's gpc0 are the same for both.
func TestTCPResponseMatchesHAProxy(t *testing.T) {
	servers := map[string]string{
		"bad": startScriptServer(t, func(c net.Conn) { io.WriteString(c, "BAD go away\r\n"); hold(c) }),
		"ok": startScriptServer(t, func(c net.Conn) {
			io.WriteString(c, "OK ready\r\n")
			_, _ = io.Copy(c, c)
		}),
		"slow": startScriptServer(t, func(c net.Conn) { io.WriteString(c, "ab"); hold(c) }),
		"later": startScriptServer(t, func(c net.Conn) {
			io.WriteString(c, "ab")
			b := make([]byte, 1)
			if _, err := io.ReadFull(c, b); err == nil {
				io.WriteString(c, "cd")
			}
			hold(c)
		}),
		"bye":   startScriptServer(t, func(c net.Conn) { io.WriteString(c, "BYE\r\n"); hold(c) }),
		"quiet": startScriptServer(t, func(c net.Conn) { io.WriteString(c, "QUIET\r\n") }),
		"gpc":   startScriptServer(t, func(c net.Conn) { io.WriteString(c, "ERR x\r\n") }),
	}
	order := []string{"quiet", "bad", "ok", "slow", "later", "bye", "gpc", "gpc"}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		ports := map[string]int{}
		for s := range servers {
			ports[s] = testenv.FreePort(t)
		}
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := tcpResponseConfig(sock, ports, servers)
		var p interface{ Stdout() string }
		if name == "haproxy" {
			p = testenv.StartHAProxy(t, cfg)
		} else {
			p = testenv.StartGatehouse(t, cfg)
		}
		var out []string
		byPort := map[string]string{} // client port -> scenario
		for _, sc := range order {
			res, port, elapsed := tcpResponseClient(t, fmt.Sprintf("127.0.0.1:%d", ports[sc]), sc)
			byPort[port] = sc
			line := fmt.Sprintf("%s: %s", sc, res)
			if sc == "slow" {
				// WAIT_END held the reject back until inspect-delay expired.
				line += fmt.Sprintf(" (after the delay: %v)", elapsed >= 350*time.Millisecond)
			}
			out = append(out, line)
		}
		// Every connection but the silenced one logs a line.
		want := len(order) - 1
		logs := func() []string {
			var ls []string
			for _, l := range strings.Split(p.Stdout(), "\n") {
				f := strings.SplitN(l, " ", 2)
				if sc, ok := byPort[f[0]]; ok && len(f) == 2 {
					ls = append(ls, sc+" "+f[1])
				}
			}
			sort.Strings(ls)
			return ls
		}
		testenv.Eventually(t, 20*time.Second, func() bool { return len(logs()) >= want },
			"%s: want %d log lines:\n%s", name, want, p.Stdout())
		out = append(out, logs()...)
		gpc := regexp.MustCompile(`key=127\.0\.0\.2 .*gpc0=(\d+)`).FindStringSubmatch(apiCLI(t, sock, "show table gpc"))
		if gpc == nil {
			t.Fatalf("%s: no entry for 127.0.0.2 in table gpc", name)
		}
		out = append(out, "gpc0 of 127.0.0.2: "+gpc[1])
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{
		`bad: closed ""`, `ok: closed "OK ready\r\nping\n"`, `slow: closed "" (after the delay: true)`,
		`later: closed "abcd"`, `bye: closed "BYE\r\n"`, "gpc0 of 127.0.0.2: 2", "bad bad/s PD",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("missing %q in:\n%s", want, g)
		}
	}
	t.Logf("both:\n%s", g)
}

// tcpResponseClient plays scenario sc from 127.0.0.2 and reports what
// came back before the end, its local port and how long it took.
func tcpResponseClient(t *testing.T, addr, sc string) (string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	c, err := dialFrom(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("%s: %v", sc, err)
	}
	defer c.Close()
	port := localPort(c)
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	switch sc {
	case "ok":
		io.WriteString(c, "ping\n")
		_ = c.(*net.TCPConn).CloseWrite()
	case "later":
		// The server answers the rest once the client spoke; the client
		// ends when it has the four bytes.
		io.WriteString(c, "x")
		b := make([]byte, 4)
		n, err := io.ReadFull(c, b)
		if err != nil {
			return fmt.Sprintf("error %q after %q", err, b[:n]), port, time.Since(start)
		}
		return fmt.Sprintf("closed %q", b), port, time.Since(start)
	}
	b, err := io.ReadAll(c)
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, net.ErrClosed), strings.Contains(fmt.Sprint(err), "reset"):
		return fmt.Sprintf("closed %q", b), port, time.Since(start)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout after %q", b), port, time.Since(start)
	}
	return fmt.Sprintf("error %v after %q", err, b), port, time.Since(start)
}
