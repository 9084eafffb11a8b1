package integration

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// rdpConnectionRequest is an RDP client's first message: TPKT, the X.224
// Connection Request, the cookie line, then an RDP negotiation request.
func rdpConnectionRequest(cookie string) []byte {
	body := []byte{0, 0xe0, 0, 0, 0, 0, 0}
	if cookie != "" {
		body = append(body, "Cookie: "+cookie+"\r\n"...)
	}
	body = append(body, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00)
	body[0] = byte(len(body) - 1)
	n := 4 + len(body)
	return append([]byte{3, 0, byte(n >> 8), byte(n)}, body...)
}

// mstsCookie is the msts cookie a terminal server gives for addr: the
// IPv4 address and the port, each read little-endian from its network
// order bytes, in decimal.
func mstsCookie(addr string) string {
	ap := netip.MustParseAddrPort(addr)
	a := ap.Addr().As4()
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], ap.Port())
	return fmt.Sprintf("msts=%d.%d.0000", binary.LittleEndian.Uint32(a[:]), binary.LittleEndian.Uint16(p[:]))
}

// startNamedServer answers each connection's first bytes with its name.
func startNamedServer(t *testing.T, name string) string {
	return startScriptServer(t, func(c net.Conn) {
		b := make([]byte, 512)
		if _, err := c.Read(b); err == nil {
			io.WriteString(c, name)
		}
	})
}

// TestRDPCookieMatchesHAProxy: the documented RDP farm (tcp-request
// content accept if RDP_COOKIE, persist rdp-cookie, balance rdp-cookie)
// in HAProxy 2.6 and Gatehouse, with a client sending X.224 connection
// requests: each mstshash user goes to the same server in both (the hash
// of the cookie), every time; an msts cookie naming a server's address
// and port goes to that server whatever the hash; one naming a disabled
// server is balanced instead, unless "option persist"; a request
// without a cookie is balanced too. The req.rdp_cookie fetches, kept in
// variables, log the same values.
func TestRDPCookieMatchesHAProxy(t *testing.T) {
	srv := map[string]string{}
	for _, n := range []string{"s1", "s2", "s3", "s4"} {
		srv[n] = startNamedServer(t, n)
	}
	cfg := func(farm, persist int) string {
		return fmt.Sprintf(`global
    log stdout format raw local0

defaults
    mode tcp
    log global
    log-format "%%cp %%s c=%%[var(sess.c)] n=%%[var(sess.n)]"
    timeout connect 5s
    timeout client 10s
    timeout server 10s

listen farm
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content set-var(sess.c) req.rdp_cookie
    tcp-request content set-var(sess.n) req.rdp_cookie_cnt(msts)
    tcp-request content accept if RDP_COOKIE
    persist rdp-cookie
    balance rdp-cookie
    server s1 %s
    server s2 %s
    server s3 %s
    server s4 %s disabled

listen persist
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content accept if RDP_COOKIE
    persist rdp-cookie
    option persist
    server s1 %s
    server s4 %s disabled
`, farm, srv["s1"], srv["s2"], srv["s3"], srv["s4"], persist, srv["s1"], srv["s4"])
	}
	type probe struct{ listen, cookie string }
	var probes []probe
	for round := 0; round < 2; round++ {
		for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"} {
			probes = append(probes, probe{"farm", "mstshash=" + u})
		}
	}
	probes = append(probes,
		probe{"farm", mstsCookie(srv["s3"])},
		probe{"farm", mstsCookie(srv["s2"])},
		probe{"farm", "MSTS=" + strings.TrimPrefix(mstsCookie(srv["s1"]), "msts=")},
		// Three times in a row on one server: not the round robin's turn.
		probe{"farm", mstsCookie(srv["s3"])},
		probe{"farm", mstsCookie(srv["s3"])},
		probe{"persist", mstsCookie(srv["s4"])},
	)
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		farm, persist := testenv.FreePort(t), testenv.FreePort(t)
		var p interface{ Stdout() string }
		if name == "haproxy" {
			p = testenv.StartHAProxy(t, cfg(farm, persist))
		} else {
			p = testenv.StartGatehouse(t, cfg(farm, persist))
		}
		var out []string
		byPort := map[string]string{}
		for i, pr := range probes {
			port := farm
			if pr.listen == "persist" {
				port = persist
			}
			got, lport := rdpClient(t, fmt.Sprintf("127.0.0.1:%d", port), rdpConnectionRequest(pr.cookie))
			byPort[lport] = fmt.Sprintf("%02d", i)
			out = append(out, fmt.Sprintf("%02d %s %s -> %s", i, pr.listen, pr.cookie, got))
		}
		// The disabled s4 named by an msts cookie: the farm balances it
		// elsewhere (which server depends on the round robin), the listen
		// with option persist sends it there.
		got, lport := rdpClient(t, fmt.Sprintf("127.0.0.1:%d", farm), rdpConnectionRequest(mstsCookie(srv["s4"])))
		out = append(out, fmt.Sprintf("farm disabled s4 -> not s4: %v", got != "s4" && got != ""))
		nocookie, _ := rdpClient(t, fmt.Sprintf("127.0.0.1:%d", farm), rdpConnectionRequest(""))
		out = append(out, fmt.Sprintf("farm without cookie -> served: %v", nocookie != ""))
		_ = lport
		logs := func() []string {
			var ls []string
			for _, l := range strings.Split(p.Stdout(), "\n") {
				f := strings.SplitN(l, " ", 2)
				if i, ok := byPort[f[0]]; ok && len(f) == 2 {
					ls = append(ls, i+" "+f[1])
				}
			}
			sort.Strings(ls)
			return ls
		}
		testenv.Eventually(t, 20*time.Second, func() bool { return len(logs()) >= len(probes) },
			"%s: want %d log lines:\n%s", name, len(probes), p.Stdout())
		out = append(out, logs()...)
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	// The same user lands on the same server both rounds; the hash spreads
	// the users over more than one server.
	lines := strings.Split(g, "\n")
	used := map[string]bool{}
	for i := 0; i < 10; i++ {
		a, b := lines[i], lines[i+10]
		sa, sb := a[strings.LastIndex(a, " ")+1:], b[strings.LastIndex(b, " ")+1:]
		if sa != sb || sa == "" {
			t.Errorf("not sticky: %q then %q", a, b)
		}
		used[sa] = true
	}
	if len(used) < 2 {
		t.Errorf("every user on one server: %v", used)
	}
	for _, want := range []string{
		"20 farm " + mstsCookie(srv["s3"]) + " -> s3", "21 farm " + mstsCookie(srv["s2"]) + " -> s2", "-> s1\n23 farm",
		"23 farm " + mstsCookie(srv["s3"]) + " -> s3", "24 farm " + mstsCookie(srv["s3"]) + " -> s3",
		"25 persist " + mstsCookie(srv["s4"]) + " -> s4", "farm disabled s4 -> not s4: true", "farm without cookie -> served: true",
		"00 s", "c=alice n=0",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("missing %q in:\n%s", want, g)
		}
	}
	t.Logf("both:\n%s", g)
}

// rdpClient sends req and returns the server's answer and the local port.
func rdpClient(t *testing.T, addr string, req []byte) (string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b), localPort(c)
}
