package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

var skmemRe = regexp.MustCompile(`rb(\d+),t\d+,tb(\d+)`)

// skmem is "rb<rcvbuf> tb<sndbuf>" of the established socket from local
// port sport to dport, as ss reads them (the kernel's doubled values);
// "" until ss lists it.
func skmem(t *testing.T, sport, dport int) string {
	t.Helper()
	out, err := exec.Command("ss", "-Htnm", "state", "established", fmt.Sprintf("( sport = :%d and dport = :%d )", sport, dport)).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	m := skmemRe.FindStringSubmatch(string(out))
	if m == nil {
		return ""
	}
	return "rb" + m[1] + " tb" + m[2]
}

// TestSockBufMatchesHAProxy: tune.{rcv,snd}buf.client size the proxy's
// accepted sockets, tune.{rcv,snd}buf.server its sockets to servers, in
// HTTP and TCP mode and for health checks, as HAProxy 2.6 sizes them (the
// kernel doubles each).
func TestSockBufMatchesHAProxy(t *testing.T) {
	held := make(chan net.Conn, 4)
	release := make(chan struct{})
	defer close(release)
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		held <- c // the connections stay open while the test reads them
		<-release
		return false
	})
	checks := make(chan net.Conn, 16)
	chk := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		select {
		case checks <- c: // the check is held unanswered until it is read
		default:
		}
		<-release
		return false
	})
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		p := [2]int{testenv.FreePort(t), testenv.FreePort(t)}
		cfg := fmt.Sprintf(`global
    tune.rcvbuf.client 8192
    tune.sndbuf.client 12288
    tune.rcvbuf.server 16384
    tune.sndbuf.server 20480

defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen web
    mode http
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d

listen tunnel
    mode tcp
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d

backend checked
    option httpchk GET /
    timeout check 30s
    server s1 127.0.0.1:%d check inter 10s
`, p[0], srv, p[1], srv, chk)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i, mode := range []string{"http", "tcp"} {
			c, err := net.DialTimeout("tcp", testenv.LocalAddr(p[i]), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			var sc net.Conn
			select {
			case sc = <-held:
			case <-time.After(20 * time.Second):
				t.Fatalf("%s %s: the server saw no request", name, mode)
			}
			var cli, up string
			mine := c.LocalAddr().(*net.TCPAddr).Port
			proxySrc := sc.RemoteAddr().(*net.TCPAddr).Port
			testenv.Eventually(t, 10*time.Second, func() bool {
				cli, up = skmem(t, p[i], mine), skmem(t, proxySrc, srv)
				return cli != "" && up != ""
			}, "%s %s: ss lists no proxy socket", name, mode)
			out = append(out, mode+" client:"+cli+" server:"+up)
			c.Close()
			sc.Close()
		}
		var cc net.Conn
		select {
		case cc = <-checks:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no health check came", name)
		}
		var ck string
		testenv.Eventually(t, 10*time.Second, func() bool {
			ck = skmem(t, cc.RemoteAddr().(*net.TCPAddr).Port, chk)
			return ck != ""
		}, "%s: ss lists no check socket", name)
		out = append(out, "check:"+ck)
		stop()
		for len(checks) > 0 {
			(<-checks).Close()
		}
		cc.Close()
		results[name] = strings.Join(out, "; ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	want := "http client:rb16384 tb24576 server:rb32768 tb40960; tcp client:rb16384 tb24576 server:rb32768 tb40960; check:rb32768 tb40960"
	if results["gatehouse"] != want {
		t.Errorf("gatehouse: %s\n      want: %s", results["gatehouse"], want)
	}
}
