package integration

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// ssLine returns ss's line for the socket in state (e.g. "listening",
// "syn-recv") whose local port is port, "" when there is none.
func ssLine(t *testing.T, state string, port int) string {
	t.Helper()
	out, err := exec.Command("ss", "-Htn", "state", state, fmt.Sprintf("( sport = :%d )", port)).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestListenSocketOptionsMatchHAProxy: the listening sockets HAProxy 2.6
// and Gatehouse open for the same binds look the same to the kernel: the
// listen backlog ss shows (bind "backlog", the frontend's "backlog", its
// maxconn), the device of "interface", the MSS a client is given with
// "mss", and with "defer-accept" a client that sends nothing stays in
// SYN-RECV on the proxy's side.
func TestListenSocketOptionsMatchHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var p [6]int
		for i := range p {
			p[i] = testenv.FreePort(t)
		}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend bind_backlog
    bind 127.0.0.1:%d backlog 77
    http-request return status 200

frontend fe_backlog
    backlog 55
    bind 127.0.0.1:%d
    http-request return status 200

frontend fe_maxconn
    maxconn 33
    bind 127.0.0.1:%d
    http-request return status 200

frontend mss
    bind 127.0.0.1:%d mss 1200
    http-request return status 200

frontend iface
    bind 127.0.0.1:%d interface lo
    http-request return status 200

frontend defer
    bind 127.0.0.1:%d defer-accept
    http-request return status 200
`, p[0], p[1], p[2], p[3], p[4], p[5])
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i := 0; i < 3; i++ {
			f := strings.Fields(ssLine(t, "listening", p[i]))
			if len(f) < 3 {
				t.Fatalf("%s: no listening socket on %d", name, p[i])
			}
			out = append(out, "backlog="+f[1])
		}
		c, err := net.Dial("tcp", testenv.LocalAddr(p[3]))
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := c.(*net.TCPConn).SyscallConn()
		var mss int
		_ = rc.Control(func(fd uintptr) { mss, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG) })
		c.Close()
		out = append(out, fmt.Sprintf("client mss=%d", mss))
		f := strings.Fields(ssLine(t, "listening", p[4]))
		if len(f) < 3 {
			t.Fatalf("%s: no listening socket on %d", name, p[4])
		}
		out = append(out, "local="+strings.TrimSuffix(f[2], fmt.Sprint(p[4])))

		d, err := net.Dial("tcp", testenv.LocalAddr(p[5]))
		if err != nil {
			t.Fatal(err)
		}
		// The client's connect returned (its handshake is done), the
		// proxy's side waits for data in SYN-RECV.
		var line string
		testenv.Eventually(t, 10*time.Second, func() bool { line = ssLine(t, "syn-recv", p[5]); return line != "" },
			"%s: defer-accept: no SYN-RECV socket on %d (established: %q)", name, p[5], ssLine(t, "established", p[5]))
		d.Close()
		out = append(out, "defer-accept: syn-recv")
		stop()
		results[name] = strings.Join(out, " ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
}
