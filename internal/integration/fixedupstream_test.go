package integration

import (
	"bufio"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// fixedUpstream is an HTTP/1.1 server whose answers are the same bytes
// every time (no Date, no Server), so two proxies relaying them send their
// clients byte-identical responses and byte counters can be compared.
// Paths: /error answers 500, /notfound 404, /reset closes the connection
// without an answer (the proxy's 502), /badresp answers a head with an
// invalid field line, /slow answers when the test releases it (Release),
// anything else 200. Every answer
// closes its connection: no proxy can reuse one, so none meets a
// connection that /reset closed under it and retries.
type fixedUpstream struct {
	ln   net.Listener
	wg   sync.WaitGroup
	hold chan struct{} // /slow answers once it is closed
}

func startFixedUpstream(t *testing.T) *fixedUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &fixedUpstream{ln: ln, hold: make(chan struct{})}
	u.wg.Add(1)
	go u.acceptLoop()
	t.Cleanup(func() {
		u.Release()
		ln.Close()
		u.wg.Wait()
	})
	return u
}

func (u *fixedUpstream) Addr() string { return u.ln.Addr().String() }

// Release lets the /slow requests held so far and later answer.
func (u *fixedUpstream) Release() {
	select {
	case <-u.hold:
	default:
		close(u.hold)
	}
}

func (u *fixedUpstream) acceptLoop() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		go serveFixedAnswers(c, u.hold)
	}
}

func fixedAnswer(path string) string {
	body := "hello from upstream\n"
	status := "200 OK"
	switch {
	case strings.HasPrefix(path, "/error"):
		status, body = "500 Internal Server Error", "upstream failed\n"
	case strings.HasPrefix(path, "/notfound"):
		status, body = "404 Not Found", "no such page\n"
	}
	return "HTTP/1.1 " + status + "\r\ncontent-type: text/plain\r\ncontent-length: " +
		strconv.Itoa(len(body)) + "\r\nconnection: close\r\n\r\n" + body
}

// serveFixedAnswers reads one request and answers it (or, for /reset,
// closes without a word).
func serveFixedAnswers(c net.Conn, hold <-chan struct{}) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewReader(bufio.NewReader(c))
	line, err := tp.ReadLine()
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		return
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return
	}
	if n, _ := strconv.Atoi(h.Get("Content-Length")); n > 0 {
		if _, err := io.CopyN(io.Discard, tp.R, int64(n)); err != nil {
			return
		}
	}
	if strings.HasPrefix(f[1], "/reset") {
		return
	}
	if strings.HasPrefix(f[1], "/slow") {
		select {
		case <-hold:
		case <-time.After(20 * time.Second):
		}
	}
	if strings.HasPrefix(f[1], "/badresp") {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nbad header\r\n\r\n")
		return
	}
	ans := fixedAnswer(f[1])
	if f[0] == "HEAD" {
		ans = ans[:strings.Index(ans, "\r\n\r\n")+4]
	}
	_, _ = io.WriteString(c, ans)
}

// startProxy starts a proxy binary on the configuration mkcfg writes for
// nports fresh ports and returns the ports once all listen. When a port
// was taken between FreePort and the bind (another test process on a
// shared machine), it starts again on new ports, up to three times.
// args gives the command line for a configuration file. probes counts
// the connections made to each port to see it listen (each is a
// connection without a request for the proxy).
func startProxy(t *testing.T, name, bin string, args func(cfgFile string) []string, nports int, mkcfg func(ports []int) string) (ports []int, probes map[int]int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports = make([]int, nports)
		probes = map[int]int{}
		for i := range ports {
			ports[i] = testenv.FreePort(t)
		}
		file := filepath.Join(t.TempDir(), name+".cfg")
		if err := os.WriteFile(file, []byte(mkcfg(ports)), 0o644); err != nil {
			t.Fatal(err)
		}
		p := testenv.StartProcess(t, name, bin, args(file)...)
		deadline := time.Now().Add(15 * time.Second)
		for {
			up := 0
			for _, port := range ports {
				if probes[port] > 0 {
					up++
				} else if testenv.DialTCP(testenv.LocalAddr(port), time.Second) == nil {
					probes[port]++
					up++
				}
			}
			if up == len(ports) {
				return ports, probes
			}
			if p.Exited() || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		out := p.String()
		p.Stop()
		if attempt == 3 || !strings.Contains(strings.ToLower(out), "address already in use") {
			t.Fatalf("%s did not listen on %v; output:\n%s", name, ports, out)
		}
		t.Logf("%s: a port was taken meanwhile, starting again on new ones:\n%s", name, out)
	}
}

func haproxyArgs(file string) []string { return []string{"-f", file, "-db"} }

func gatehouseArgs(file string) []string { return []string{"-f", file} }
