package resolve

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// fakeDNS answers from a table over UDP and TCP on loopback.
type fakeDNS struct {
	addr netip.AddrPort
	mu   sync.Mutex
	a    map[string][]netip.Addr // A and AAAA by name
	srv  map[string][]srvRecord
	// extra: SRV answers carry the targets' addresses as additional records.
	extra bool
	rcode dnsmessage.RCode
	// typeRcode answers one query type with an error (dnsmasq without
	// upstream refuses AAAA for a name it has only A records for).
	typeRcode map[dnsmessage.Type]dnsmessage.RCode
	// truncUDP: UDP answers are empty with TC set (the client must use TCP).
	truncUDP bool
	tcpHits  atomic.Int64
}

func startFakeDNS(t *testing.T) *fakeDNS {
	t.Helper()
	// The same port for UDP and TCP: another test may hold the TCP side
	// of a free UDP port, so try a few.
	var pc net.PacketConn
	var ln net.Listener
	var port int
	for try := 0; ; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port = pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err = net.Listen("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()); err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatal(err)
		}
	}
	f := &fakeDNS{addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)),
		a: map[string][]netip.Addr{}, srv: map[string][]srvRecord{}}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := f.answer(buf[:n], true); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.tcpHits.Add(1)
			go func() {
				defer c.Close()
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				out := f.answer(q, false)
				c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
			}()
		}
	}()
	return f
}

func (f *fakeDNS) set(fn func(f *fakeDNS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeDNS) answer(q []byte, udp bool) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil
	}
	qq := qs[0]
	name := canon(qq.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, RCode: f.rcode}
	if rc, ok := f.typeRcode[qq.Type]; ok {
		rh.RCode = rc
	}
	if udp && f.truncUDP {
		rh.Truncated = true
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.StartQuestions()
	b.Question(qq)
	b.StartAnswers()
	hdr := dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: 1}
	var targets []string
	if rh.RCode == dnsmessage.RCodeSuccess && !rh.Truncated {
		switch qq.Type {
		case dnsmessage.TypeA, dnsmessage.TypeAAAA:
			for _, a := range f.a[name] {
				if a.Is4() && qq.Type == dnsmessage.TypeA {
					b.AResource(hdr, dnsmessage.AResource{A: a.As4()})
				} else if a.Is6() && qq.Type == dnsmessage.TypeAAAA {
					b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: a.As16()})
				}
			}
		case dnsmessage.TypeSRV:
			for _, r := range f.srv[name] {
				b.SRVResource(hdr, dnsmessage.SRVResource{Priority: r.Priority, Weight: r.Weight, Port: r.Port,
					Target: dnsmessage.MustNewName(r.Target + ".")})
				targets = append(targets, r.Target)
			}
		}
	}
	if f.extra {
		b.StartAdditionals()
		for _, tg := range targets {
			for _, a := range f.a[tg] {
				b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(tg + "."), Class: dnsmessage.ClassINET}, dnsmessage.AResource{A: a.As4()})
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		panic(err)
	}
	return out
}

func ips(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, x := range s {
		out = append(out, netip.MustParseAddr(x))
	}
	return out
}

// newTestResolvers makes a section asking f, with servers following host.
func newTestResolvers(t *testing.T, f *fakeDNS, host string, port, n int, dns config.ServerDNS) (*Resolvers, []*upstream.Server) {
	t.Helper()
	rc := config.NewResolvers("test", config.Pos{})
	rc.Nameservers = []config.Nameserver{{Name: "ns1", Addr: f.addr}}
	rc.Retry = 2 * time.Second
	r, err := New(rc, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []*upstream.Server
	for i := range n {
		cs := &config.Server{Name: "s" + string(rune('1'+i)), Host: host, Port: port, Weight: 1, DNS: dns}
		s := upstream.NewServer(cs, i+1, netip.AddrPort{})
		s.SetResolutionMaint(true)
		r.Add("be", s)
		out = append(out, s)
	}
	return r, out
}

// resolveNow runs one resolution of every name, whatever "hold valid" says.
func resolveNow(r *Resolvers) {
	for _, g := range r.groups {
		r.resolve(context.Background(), g)
	}
}

func addrsOf(ss []*upstream.Server) string {
	var b strings.Builder
	for _, s := range ss {
		if s.ResolutionMaint() {
			b.WriteString("MAINT ")
			continue
		}
		b.WriteString(s.Addr().String() + " ")
	}
	return strings.TrimSpace(b.String())
}

func TestAddressesSpreadOverSlotsAndFollowRecords(t *testing.T) {
	f := startFakeDNS(t)
	f.set(func(f *fakeDNS) { f.a["gw.mesh"] = ips("10.0.0.1", "10.0.0.2") })
	r, ss := newTestResolvers(t, f, "gw.mesh", 8443, 3, config.ServerDNS{Resolvers: "test", PreferIPv4: true})
	resolveNow(r)
	if got, want := addrsOf(ss), "10.0.0.1:8443 10.0.0.2:8443 MAINT"; got != want {
		t.Fatalf("slots %q, want %q", got, want)
	}
	// One record goes, another comes: the server keeping its address does
	// not move, the freed one takes the new address.
	f.set(func(f *fakeDNS) { f.a["gw.mesh"] = ips("10.0.0.2", "10.0.0.3") })
	resolveNow(r)
	if got, want := addrsOf(ss), "10.0.0.3:8443 10.0.0.2:8443 MAINT"; got != want {
		t.Fatalf("slots %q, want %q", got, want)
	}
	f.set(func(f *fakeDNS) { f.a["gw.mesh"] = ips("10.0.0.2") })
	resolveNow(r)
	if got, want := addrsOf(ss), "MAINT 10.0.0.2:8443 MAINT"; got != want {
		t.Fatalf("slots %q, want %q", got, want)
	}
	if ss[0].Status() != "MAINT (resolution)" || ss[0].Usable() || ss[0].Reachable() {
		t.Fatalf("a slot without record: status %q usable %v", ss[0].Status(), ss[0].Usable())
	}
	var b strings.Builder
	r.WriteShow(&b)
	for _, want := range []string{"Resolvers section test\n nameserver ns1:\n  sent:        3\n", "  valid:       3\n", "  update:      3\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show resolvers lacks %q:\n%s", want, b.String())
		}
	}
}

// TestErrorForThePreferredFamilyFallsBack: as HAProxy, any error answer
// to the preferred family's query (here REFUSED for AAAA, what dnsmasq
// without upstream answers) asks the other family at once; the default
// preference is IPv6.
func TestErrorForThePreferredFamilyFallsBack(t *testing.T) {
	for _, rc := range []dnsmessage.RCode{dnsmessage.RCodeRefused, dnsmessage.RCodeServerFailure, dnsmessage.RCodeNameError} {
		f := startFakeDNS(t)
		f.set(func(f *fakeDNS) {
			f.a["gw.mesh"] = ips("10.0.0.1")
			f.typeRcode = map[dnsmessage.Type]dnsmessage.RCode{dnsmessage.TypeAAAA: rc}
		})
		r, ss := newTestResolvers(t, f, "gw.mesh", 8443, 2, config.ServerDNS{Resolvers: "test"})
		resolveNow(r)
		if got, want := addrsOf(ss), "10.0.0.1:8443 MAINT"; got != want {
			t.Errorf("AAAA answered %v: slots %q, want %q", rc, got, want)
		}
	}
}

func TestAllowDupIPAndPreferredNetworks(t *testing.T) {
	f := startFakeDNS(t)
	f.set(func(f *fakeDNS) { f.a["gw.mesh"] = ips("10.0.0.1", "192.168.0.7", "fd00::1") })
	nets := []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}
	r, ss := newTestResolvers(t, f, "gw.mesh", 80, 2, config.ServerDNS{Resolvers: "test", PreferIPv4: true, Nets: nets, AllowDupIP: true})
	resolveNow(r)
	if got, want := addrsOf(ss), "192.168.0.7:80 192.168.0.7:80"; got != want {
		t.Fatalf("allow-dup-ip, resolve-net: %q, want %q", got, want)
	}
	// The default prefers IPv6 (AAAA is asked first).
	r, ss = newTestResolvers(t, f, "gw.mesh", 80, 2, config.ServerDNS{Resolvers: "test"})
	resolveNow(r)
	if got, want := addrsOf(ss), "[fd00::1]:80 MAINT"; got != want {
		t.Fatalf("resolve-prefer ipv6: %q, want %q", got, want)
	}
}

func TestSRVRecordsGivePortWeightAndTarget(t *testing.T) {
	for _, extra := range []bool{true, false} {
		f := startFakeDNS(t)
		f.set(func(f *fakeDNS) {
			f.extra = extra
			f.srv["_https._tcp.gw.mesh"] = []srvRecord{{Target: "pod-a.gw.mesh", Port: 8443, Weight: 0}, {Target: "pod-b.gw.mesh", Port: 9443, Weight: 1000}}
			f.a["pod-a.gw.mesh"] = ips("10.1.0.1")
			f.a["pod-b.gw.mesh"] = ips("10.1.0.2")
		})
		r, ss := newTestResolvers(t, f, "_https._tcp.gw.mesh", 0, 3, config.ServerDNS{Resolvers: "test", PreferIPv4: true})
		resolveNow(r)
		if got, want := addrsOf(ss), "10.1.0.1:8443 10.1.0.2:9443 MAINT"; got != want {
			t.Fatalf("additional records %v: %q, want %q", extra, got, want)
		}
		// HAProxy scales the 0..65535 SRV weight to weight/256+1.
		if ss[0].Weight() != 1 || ss[1].Weight() != 4 {
			t.Fatalf("weights %d %d, want 1 4", ss[0].Weight(), ss[1].Weight())
		}
		if ss[1].Hostname() != "pod-b.gw.mesh" {
			t.Fatalf("hostname %q", ss[1].Hostname())
		}
		f.set(func(f *fakeDNS) {
			f.srv["_https._tcp.gw.mesh"] = []srvRecord{{Target: "pod-b.gw.mesh", Port: 9443, Weight: 65535}, {Target: "pod-c.gw.mesh", Port: 8443, Weight: 512}}
			f.a["pod-c.gw.mesh"] = ips("10.1.0.3")
		})
		resolveNow(r)
		// As in HAProxy 2.6: the new record takes the slot that had none,
		// the emptied one loses its address and is free for the next.
		if got, want := addrsOf(ss), "MAINT 10.1.0.2:9443 10.1.0.3:8443"; got != want {
			t.Fatalf("after change: %q, want %q", got, want)
		}
		if ss[2].Weight() != 3 || ss[1].Weight() != 256 || ss[0].HasAddr() || ss[0].Hostname() != "" {
			t.Fatalf("weights %d %d, want 3 256; emptied slot at %v (%q)", ss[2].Weight(), ss[1].Weight(), ss[0].Addr(), ss[0].Hostname())
		}
	}
	// ignore-weight keeps the configured weight.
	f := startFakeDNS(t)
	f.set(func(f *fakeDNS) {
		f.srv["_h._tcp.x"] = []srvRecord{{Target: "a.x", Port: 1, Weight: 5000}}
		f.a["a.x"] = ips("10.2.0.1")
	})
	r, ss := newTestResolvers(t, f, "_h._tcp.x", 0, 1, config.ServerDNS{Resolvers: "test", PreferIPv4: true, IgnoreWeight: true})
	resolveNow(r)
	if ss[0].Weight() != 1 || addrsOf(ss) != "10.2.0.1:1" {
		t.Fatalf("ignore-weight: weight %d, %s", ss[0].Weight(), addrsOf(ss))
	}
}

func TestTruncatedAnswerIsAskedAgainOverTCP(t *testing.T) {
	f := startFakeDNS(t)
	f.set(func(f *fakeDNS) { f.a["gw.mesh"] = ips("10.0.0.9"); f.truncUDP = true })
	r, ss := newTestResolvers(t, f, "gw.mesh", 80, 1, config.ServerDNS{Resolvers: "test", PreferIPv4: true})
	resolveNow(r)
	if got := addrsOf(ss); got != "10.0.0.9:80" {
		t.Fatalf("slot %q after a truncated answer", got)
	}
	if f.tcpHits.Load() == 0 || r.ns[0].c.truncated.Load() == 0 {
		t.Fatalf("no TCP query (%d) or truncated count (%d)", f.tcpHits.Load(), r.ns[0].c.truncated.Load())
	}
}

// An error keeps the last valid answer for its hold period, then the
// servers go to MAINT (resolution).
func TestErrorsKeepTheLastAnswerForTheirHold(t *testing.T) {
	hold := config.NewResolvers("x", config.Pos{}).Hold
	g := &group{host: "gw"}
	s := upstream.NewServer(&config.Server{Name: "s1", Host: "gw", Port: 80, Weight: 1}, 1, netip.AddrPort{})
	g.servers = []*slot{newSlot(s)}
	t0 := time.Unix(1000, 0)
	g.apply(answer{st: stValid, addrs: ips("10.0.0.1")}, t0, &hold)
	for _, c := range []struct {
		st    status
		after time.Duration
		maint bool
	}{
		{stNX, 29 * time.Second, false}, {stNX, 31 * time.Second, true},
	} {
		g.apply(answer{st: stValid, addrs: ips("10.0.0.1")}, t0, &hold)
		g.apply(answer{st: c.st}, t0.Add(c.after), &hold)
		if s.ResolutionMaint() != c.maint {
			t.Errorf("%v after %v: MAINT %v, want %v", c.st, c.after, s.ResolutionMaint(), c.maint)
		}
	}
	hold.Refused = time.Second
	g.apply(answer{st: stValid, addrs: ips("10.0.0.1")}, t0, &hold)
	g.apply(answer{st: stRefused}, t0.Add(2*time.Second), &hold)
	if !s.ResolutionMaint() {
		t.Errorf("hold refused 1s: still in service 2s after REFUSED")
	}
	// hold obsolete keeps a record missing from an answer that long.
	hold.Obsolete = 5 * time.Second
	g.apply(answer{st: stValid, addrs: ips("10.0.0.1")}, t0, &hold)
	g.apply(answer{st: stValid, addrs: ips("10.0.0.2")}, t0.Add(3*time.Second), &hold)
	if s.ResolutionMaint() || s.Addr().Addr() != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("hold obsolete 5s: moved after 3s to %v", s.Addr())
	}
	g.apply(answer{st: stValid, addrs: ips("10.0.0.2")}, t0.Add(6*time.Second), &hold)
	if s.Addr().Addr() != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("hold obsolete 5s: still at %v after 6s", s.Addr())
	}
}

func TestNXDomainAndTimeoutAreCounted(t *testing.T) {
	f := startFakeDNS(t)
	f.set(func(f *fakeDNS) { f.rcode = dnsmessage.RCodeNameError })
	r, _ := newTestResolvers(t, f, "gone.mesh", 80, 1, config.ServerDNS{Resolvers: "test", PreferIPv4: true})
	resolveNow(r)
	if r.ns[0].c.nx.Load() == 0 {
		t.Errorf("NXDOMAIN not counted")
	}
	// A nameserver that never answers: resolve_retries queries, a timeout each.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	rc := config.NewResolvers("silent", config.Pos{})
	rc.Nameservers = []config.Nameserver{{Name: "ns", Addr: netip.MustParseAddrPort(pc.LocalAddr().String())}}
	rc.Retry, rc.Retries = 50*time.Millisecond, 2
	r, err = New(rc, "")
	if err != nil {
		t.Fatal(err)
	}
	if a := r.query(context.Background(), "x.mesh", dnsmessage.TypeA); a.st != stTimeout {
		t.Fatalf("status %v, want timeout", a.st)
	}
	if r.ns[0].c.sent.Load() != 2 || r.ns[0].c.timeout.Load() != 2 {
		t.Fatalf("sent %d timeout %d, want 2 2", r.ns[0].c.sent.Load(), r.ns[0].c.timeout.Load())
	}
}

// A graph that never went live (gatehouse -c) stops at once.
func TestStopWithoutStartReturnsAtOnce(t *testing.T) {
	rc := config.NewResolvers("x", config.Pos{})
	rc.Nameservers = []config.Nameserver{{Name: "ns", Addr: netip.MustParseAddrPort("127.0.0.1:53")}}
	r, err := New(rc, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waited for a loop that never started")
	}
}
