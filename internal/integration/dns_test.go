package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// dnsmasq is a real DNS server for the test: the records of gw.mesh.local
// are the lines of an addn-hosts file, reread on SIGHUP.
type dnsmasq struct {
	proc  *testenv.Process
	addr  string
	hosts string
	port  int
}

func startDnsmasq(t *testing.T, hosts []string, extra ...string) *dnsmasq {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	d := &dnsmasq{port: testenv.FreePort(t), hosts: filepath.Join(dir, "hosts")}
	d.addr = testenv.LocalAddr(d.port)
	d.setHosts(t, hosts)
	d.start(t, extra...)
	return d
}

// start runs dnsmasq with the records of extra (srv-host, host-record:
// those are read at start only, so changing them is a restart).
func (d *dnsmasq) start(t *testing.T, extra ...string) {
	t.Helper()
	bin := testenv.RequireBinary(t, "dnsmasq")
	conf := []string{
		fmt.Sprintf("port=%d", d.port), "listen-address=127.0.0.1", "bind-interfaces",
		"no-resolv", "no-hosts", "addn-hosts=" + d.hosts, "keep-in-foreground", "pid-file=",
		"log-facility=-", "local-ttl=1",
	}
	if os.Getuid() == 0 {
		conf = append(conf, "user=root")
	}
	conf = append(conf, extra...)
	cf := filepath.Join(filepath.Dir(d.hosts), "dnsmasq.conf")
	if err := os.WriteFile(cf, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.proc = testenv.StartProcess(t, "dnsmasq", bin, "--conf-file="+cf)
	testenv.Eventually(t, 20*time.Second, func() bool {
		c, err := net.Dial("tcp", d.addr) // dnsmasq also answers over TCP
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "dnsmasq did not start on %s: %s", d.addr, d.proc.String())
}

// restart replaces the running dnsmasq with one serving extra.
func (d *dnsmasq) restart(t *testing.T, extra ...string) {
	t.Helper()
	d.proc.Stop()
	d.start(t, extra...)
}

// setHosts rewrites the records and makes dnsmasq reread them.
func (d *dnsmasq) setHosts(t *testing.T, lines []string) {
	t.Helper()
	tmp := d.hosts + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, d.hosts); err != nil {
		t.Fatal(err)
	}
	if d.proc != nil {
		if err := d.proc.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
}

// pod is a gateway replica on its own loopback address.
type pod struct {
	ip   string
	srv  *http.Server
	hits atomic.Int64
}

func startPod(t *testing.T, ip string, port int) *pod {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	p := &pod{ip: ip}
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		time.Sleep(5 * time.Millisecond) // requests are in flight when records change
		io.WriteString(w, "pod "+ip+"\n")
	})}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// stop ends the pod the way Kubernetes does once its endpoint is gone:
// requests in flight finish, then it closes.
func (p *pod) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		t.Errorf("pod %s: %v", p.ip, err)
	}
}

func hostsFor(pods ...*pod) []string {
	var l []string
	for _, p := range pods {
		l = append(l, p.ip+" gw.mesh.local")
	}
	return l
}

// TestDNSSlotsFollowRecords: a server-template over a resolvers section
// follows the A records of a real DNS server (dnsmasq) while traffic
// flows: a new pod gets a slot and traffic, a vanished one goes to MAINT
// (resolution) and is stopped after, and no request fails.
func TestDNSSlotsFollowRecords(t *testing.T) {
	port := testenv.FreePort(t)
	p1, p2 := startPod(t, "127.0.0.11", port), startPod(t, "127.0.0.12", port)
	dns := startDnsmasq(t, hostsFor(p1, p2))
	fe := testenv.FreePort(t)
	sock := filepath.Join(t.TempDir(), "api.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin

resolvers mesh
    nameserver dns %s
    timeout resolve 100ms
    timeout retry 500ms
    hold valid 500ms

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch

frontend web
    bind 127.0.0.1:%d
    default_backend gw

backend gw
    server-template pod 4 gw.mesh.local:%d resolvers mesh resolve-prefer ipv4 init-addr none
`, sock, dns.addr, fe, port)
	gh := testenv.StartGatehouse(t, cfg)
	url := "http://" + testenv.LocalAddr(fe) + "/"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}

	states := func() map[string]string { // slot -> "addr admin"
		m := map[string]string{}
		for _, l := range strings.Split(apiCLI(t, sock, "show servers state gw"), "\n") {
			f := strings.Fields(l)
			if len(f) >= 7 && f[0] != "#" {
				m[f[3]] = f[4] + " " + f[6]
			}
		}
		return m
	}
	slotsWith := func(ips ...string) bool {
		st := states()
		for _, ip := range ips {
			found := false
			for _, v := range st {
				found = found || v == ip+" 0"
			}
			if !found {
				return false
			}
		}
		n := 0
		for _, v := range st {
			if strings.HasSuffix(v, " 32") {
				n++
			}
		}
		return n == 4-len(ips)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return slotsWith(p1.ip, p2.ip) },
		"slots never took the two records: %v", states())

	// Traffic flows for the whole test; every failure counts.
	var failed, ok atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	// A new pod: it gets a free slot and traffic.
	p3 := startPod(t, "127.0.0.13", port)
	dns.setHosts(t, hostsFor(p1, p2, p3))
	testenv.Eventually(t, 20*time.Second, func() bool { return p3.hits.Load() > 10 },
		"the new pod got no traffic; slots: %v", states())

	// Reloads keep the slots: a reloaded server starts where the running
	// one was ("init-addr last"), not in MAINT until the first answer.
	for i := range 5 {
		n := strings.Count(gh.String(), "reload complete")
		if err := gh.Reload(); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, func() bool { return strings.Count(gh.String(), "reload complete") > n },
			"reload %d did not complete: %s", i, gh.String())
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d requests failed across reloads (first: %v)", n, firstErr.Load())
	}

	// A vanished pod: its slot goes to MAINT (resolution); only then is it
	// stopped, after its requests in flight.
	dns.setHosts(t, hostsFor(p2, p3))
	testenv.Eventually(t, 20*time.Second, func() bool { return slotsWith(p2.ip, p3.ip) },
		"the vanished pod's slot did not go to MAINT: %v", states())
	csv := apiCLI(t, sock, "show stat")
	if !strings.Contains(csv, "MAINT (resolution)") {
		t.Errorf("show stat has no MAINT (resolution) slot:\n%s", csv)
	}
	p1.stop(t)
	before := p1.hits.Load()

	// And another one comes, taking the freed slot.
	p4 := startPod(t, "127.0.0.14", port)
	dns.setHosts(t, hostsFor(p2, p3, p4))
	testenv.Eventually(t, 20*time.Second, func() bool { return p4.hits.Load() > 10 && p2.hits.Load() > 10 },
		"the fourth pod got no traffic; slots: %v", states())
	if p1.hits.Load() != before {
		t.Errorf("the stopped pod got requests after its slot went to MAINT")
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed while records changed (first: %v)", n, n+ok.Load(), firstErr.Load())
	}
	t.Logf("%d requests, %d failed; pods: %d %d %d %d", ok.Load(), failed.Load(), p1.hits.Load(), p2.hits.Load(), p3.hits.Load(), p4.hits.Load())

	// The section of the test (HAProxy's implicit "default" one follows).
	res, _, _ := strings.Cut(apiCLI(t, sock, "show resolvers"), "Resolvers section default")
	for _, want := range []string{"Resolvers section mesh\n nameserver dns:\n  sent:        ", "  valid:       ", "  update:      "} {
		if !strings.Contains(res, want) {
			t.Errorf("show resolvers lacks %q:\n%s", want, res)
		}
	}
	if strings.Contains(res, "  valid:       0\n") || strings.Contains(res, "  update:      0\n") {
		t.Errorf("show resolvers counted no valid answer or update:\n%s", res)
	}
}
