package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// srvRecords are dnsmasq lines for the SRV record of a headless Service:
// one target per pod with its port and weight, and the pod's address.
func srvRecords(pods ...srvPod) []string {
	var l []string
	for _, p := range pods {
		l = append(l, fmt.Sprintf("srv-host=_https._tcp.gw.mesh.local,%s.gw.mesh.local,%d,0,%d", p.name, p.port, p.weight),
			fmt.Sprintf("host-record=%s.gw.mesh.local,%s", p.name, p.pod.ip))
	}
	return l
}

type srvPod struct {
	name   string
	port   int
	weight int
	pod    *pod
}

// slotView is what "show servers state" says of the slots, sorted: "addr:port
// op admin weight fqdn srvrecord" (which slot holds which record follows the
// order of the answer, which the DNS server may shuffle), and how many are
// in MAINT (resolution).
// names maps each target to the slot holding it.
func slotView(t *testing.T, sock string) (slots []string, rmaint int, names map[string]string) {
	names = map[string]string{}
	for _, l := range strings.Split(apiCLI(t, sock, "show servers state gw"), "\n") {
		f := strings.Fields(l)
		if len(f) < 20 || f[0] == "#" {
			continue
		}
		if f[6] == "32" || f[6] == "96" { // SRV_ADMF_RMAINT (with HMAINT once a record set the slot)
			rmaint++
		}
		slots = append(slots, strings.Join([]string{f[4] + ":" + f[18], "op" + f[5], "adm" + f[6], "w" + f[7], f[17], f[19]}, " "))
		names[f[17]] = f[3]
	}
	slices.Sort(slots)
	return
}

// TestDNSSRVSlotsMatchHAProxy: server-template over an SRV record served by
// dnsmasq, in Gatehouse and HAProxy 2.6 side by side: both give the slots
// the targets' addresses, ports and scaled weights, follow the record when
// a pod is replaced, and show the emptied slot in MAINT (resolution).
func TestDNSSRVSlotsMatchHAProxy(t *testing.T) {
	a := srvPod{name: "pod-a", port: testenv.FreePort(t), weight: 100}
	b := srvPod{name: "pod-b", port: testenv.FreePort(t), weight: 1000}
	c := srvPod{name: "pod-c", port: testenv.FreePort(t), weight: 65535}
	a.pod, b.pod, c.pod = startPod(t, "127.0.0.21", a.port), startPod(t, "127.0.0.22", b.port), startPod(t, "127.0.0.23", c.port)
	dns := startDnsmasq(t, nil, srvRecords(a, b)...)

	cfg := func(sock string, fe int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin

resolvers mesh
    nameserver dns %s
    accepted_payload_size 4096
    timeout resolve 100ms
    timeout retry 300ms
    hold valid 300ms
    hold timeout 60s

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    default_backend gw

backend gw
    server-template gw 3 _https._tcp.gw.mesh.local resolvers mesh resolve-prefer ipv4 init-addr none check inter 200ms
`, sock, dns.addr, fe)
	}
	ghSock, haSock := filepath.Join(t.TempDir(), "gh.sock"), filepath.Join(t.TempDir(), "ha.sock")
	ghFE, haFE := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartGatehouse(t, cfg(ghSock, ghFE))
	testenv.StartHAProxy(t, cfg(haSock, haFE))

	// Both see the same slots: the targets' addresses and the records'
	// ports, weights 100/256+1 and 1000/256+1, one slot left in MAINT.
	rec := " _https._tcp.gw.mesh.local"
	want := []string{
		"-:0 op0 adm32 w1 -" + rec,
		fmt.Sprintf("127.0.0.21:%d op2 adm64 w1 pod-a.gw.mesh.local", a.port) + rec,
		fmt.Sprintf("127.0.0.22:%d op2 adm64 w4 pod-b.gw.mesh.local", b.port) + rec,
	}
	holders := map[string]map[string]string{}
	await := func(what string, want []string) {
		t.Helper()
		for name, sock := range map[string]string{"gatehouse": ghSock, "haproxy": haSock} {
			deadline := time.Now().Add(30 * time.Second)
			for {
				got, rm, names := slotView(t, sock)
				if slices.Equal(got, want) && rm == 1 {
					if prev := holders[name]; prev != nil && prev["pod-c.gw.mesh.local"] == "" {
						// The new record went to the slot that never had one.
						if names["pod-c.gw.mesh.local"] == prev["pod-a.gw.mesh.local"] {
							t.Errorf("%s: pod-c took pod-a's emptied slot %s", name, names["pod-c.gw.mesh.local"])
						}
					}
					holders[name] = names
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s slots %q (%d in MAINT), want %q (1 in MAINT)\n%s", what, name, got, rm, want, apiCLI(t, sock, "show servers state gw"))
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	await("start", want)

	// A pod is replaced: the record now names b and c.
	dns.restart(t, srvRecords(b, c)...)
	// The new record takes the slot that never had one; the emptied slot
	// loses its address, port and target.
	want = []string{
		"-:0 op0 adm96 w1 -" + rec,
		fmt.Sprintf("127.0.0.22:%d op2 adm64 w4 pod-b.gw.mesh.local", b.port) + rec,
		fmt.Sprintf("127.0.0.23:%d op2 adm64 w256 pod-c.gw.mesh.local", c.port) + rec,
	}
	await("after the change", want)

	// Health checks follow the slot to the record's target and port: the
	// new pod's slot passes its checks (CHK_RES_PASSED) in both.
	for name, sock := range map[string]string{"gatehouse": ghSock, "haproxy": haSock} {
		testenv.Eventually(t, 30*time.Second, func() bool {
			for _, l := range strings.Split(apiCLI(t, sock, "show servers state gw"), "\n") {
				if f := strings.Fields(l); len(f) >= 20 && f[17] == "pod-c.gw.mesh.local" && f[11] == "3" && f[5] == "2" {
					return true
				}
			}
			return false
		}, "%s: the new pod's slot never passed a check", name)
	}

	// Traffic reaches the new pod through its SRV port.
	client := &http.Client{Timeout: 10 * time.Second}
	before := c.pod.hits.Load()
	for range 20 {
		resp, err := client.Get("http://" + testenv.LocalAddr(ghFE) + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if c.pod.hits.Load() == before {
		t.Errorf("the pod the SRV record added got no request")
	}
	// "show resolvers" has HAProxy's layout: the same lines, counters aside.
	shape := func(sock string) string {
		var b strings.Builder
		for _, l := range strings.Split(apiCLI(t, sock, "show resolvers"), "\n") {
			if k, _, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(l, "  ") {
				l = k + ":"
			}
			b.WriteString(strings.TrimRight(l, " ") + "\n")
		}
		return b.String()
	}
	if gh, ha := shape(ghSock), shape(haSock); gh != ha {
		t.Errorf("show resolvers: gatehouse\n%s\nhaproxy\n%s", gh, ha)
	}
	if csv := apiCLI(t, ghSock, "show stat"); !strings.Contains(csv, "MAINT (resolution)") {
		t.Errorf("show stat has no MAINT (resolution) slot:\n%s", csv)
	}
}

// TestCheckReportsUnresolvedNamesAsHAProxy: gatehouse -c needs no DNS
// server: a name that does not resolve is an error for a plain server, a
// warning (the server starts in MAINT) for one that follows resolvers,
// nothing for init-addr none or an SRV record; the lines are HAProxy's.
func TestCheckReportsUnresolvedNamesAsHAProxy(t *testing.T) {
	base := `resolvers mesh
    nameserver dns 127.0.0.1:9
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend gw
backend gw
    server s1 %s:80
    server s2 gw2.invalid:80 resolvers mesh
    server s3 gw3.invalid:80 resolvers mesh init-addr none
    server-template t 2 _http._tcp.gw.invalid resolvers mesh
`
	port := testenv.FreePort(t)
	for _, s1 := range []string{"127.0.0.1", "gw.invalid"} {
		cfg := fmt.Sprintf(base, port, s1)
		start := time.Now()
		ghOK, ghOut := testenv.GatehouseCheck(t, cfg)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("gatehouse -c took %v", d)
		}
		haOK, haOut := testenv.HAProxyCheck(t, cfg)
		if ghOK != haOK {
			t.Errorf("s1 %s: gatehouse -c ok=%v, haproxy ok=%v\ngatehouse:\n%s\nhaproxy:\n%s", s1, ghOK, haOK, ghOut, haOut)
		}
		for _, msg := range []string{"'server gw/s2' : could not resolve address 'gw2.invalid', disabling server.",
			"'server gw/s1' : could not resolve address 'gw.invalid'.", "Failed to initialize server(s) addr."} {
			if strings.Contains(haOut, msg) != strings.Contains(ghOut, msg) {
				t.Errorf("s1 %s: %q: in haproxy's output %v, in gatehouse's %v\ngatehouse:\n%s\nhaproxy:\n%s",
					s1, msg, strings.Contains(haOut, msg), strings.Contains(ghOut, msg), ghOut, haOut)
			}
		}
	}
}

// TestDNSARecordSlotsMatchHAProxy: a server-template over the A records of
// a headless Service in Gatehouse and HAProxy 2.6 side by side, following
// the same dnsmasq: both give each record its own slot and the spare ones
// MAINT (resolution), and both follow a pod added and one removed.
func TestDNSARecordSlotsMatchHAProxy(t *testing.T) {
	port := testenv.FreePort(t)
	p1, p2, p3 := startPod(t, "127.0.0.31", port), startPod(t, "127.0.0.32", port), startPod(t, "127.0.0.33", port)
	dns := startDnsmasq(t, hostsFor(p1, p2))
	cfg := func(sock string, fe int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin

resolvers mesh
    nameserver dns %s
    timeout resolve 100ms
    timeout retry 300ms
    hold valid 300ms

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    default_backend gw

backend gw
    server-template gw 3 gw.mesh.local:%d resolvers mesh resolve-prefer ipv4 init-addr none
`, sock, dns.addr, fe, port)
	}
	ghSock, haSock := filepath.Join(t.TempDir(), "gh.sock"), filepath.Join(t.TempDir(), "ha.sock")
	testenv.StartGatehouse(t, cfg(ghSock, testenv.FreePort(t)))
	testenv.StartHAProxy(t, cfg(haSock, testenv.FreePort(t)))
	// "addr:port op admin" of each slot, sorted.
	view := func(sock string) []string {
		var out []string
		for _, l := range strings.Split(apiCLI(t, sock, "show servers state gw"), "\n") {
			f := strings.Fields(l)
			if len(f) >= 20 && f[0] != "#" {
				out = append(out, f[4]+":"+f[18]+" op"+f[5]+" adm"+f[6]+" "+f[17])
			}
		}
		slices.Sort(out)
		return out
	}
	await := func(what string, pods ...*pod) {
		t.Helper()
		var want []string
		for _, p := range pods {
			want = append(want, fmt.Sprintf("%s:%d op2 adm0 gw.mesh.local", p.ip, port))
		}
		for range 3 - len(pods) {
			want = append(want, fmt.Sprintf("-:%d op0 adm32 gw.mesh.local", port)) // HAProxy shows the configured port
		}
		slices.Sort(want)
		for name, sock := range map[string]string{"gatehouse": ghSock, "haproxy": haSock} {
			deadline := time.Now().Add(30 * time.Second)
			for got := view(sock); !slices.Equal(got, want); got = view(sock) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s slots %q, want %q", what, name, got, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	await("start", p1, p2)
	dns.setHosts(t, hostsFor(p1, p2, p3))
	await("pod added", p1, p2, p3)
	dns.setHosts(t, hostsFor(p2, p3))
	await("pod removed", p2, p3)
}
