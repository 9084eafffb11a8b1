package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

type mapFiles struct{ hosts, reg, ips, blocked string }

func writeMapFiles(t *testing.T) mapFiles {
	dir := t.TempDir()
	w := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return mapFiles{
		// api.example.com comes after example.com: map_dom answers the
		// first entry in file order, so example.com wins for both.
		hosts:   w("hosts.map", "# host -> backend\nexample.com be_a\napi.example.com be_b\n\n  static.example.net   be_b  \n"),
		reg:     w("paths.map", `^/api/v([0-9]+)/ api-v\1`+"\n"+`^/api/ api-any`+"\n"+`\.(png|css)$ static`+"\n"),
		ips:     w("nets.map", "10.0.0.0/8 net10\n10.1.0.0/16 net10_1\n192.168.0.1 host1\n2001:db8::/32 doc6\n::ffff:172.16.0.0/108 mapped\n"),
		blocked: w("blocked.lst", "192.0.2.0/24\n"),
	}
}

func mapsConfig(fe int, sock string, f mapFiles) string {
	return fmt.Sprintf(`global
    stats socket %[2]s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%[1]d
    acl blocked req.hdr(x-client) -m ip -f %[6]s
    http-request deny deny_status 403 if blocked
    http-request set-map(%[3]s) %%[req.hdr(x-set-host)] %%[req.hdr(x-set-be)] if { req.hdr(x-set-host) -m found }
    http-request del-map(%[3]s) %%[req.hdr(x-del-host)] if { req.hdr(x-del-host) -m found }
    http-request add-acl(%[6]s) %%[req.hdr(x-block)] if { req.hdr(x-block) -m found }
    http-request set-header x-reg %%[path,map_reg(%[4]s,none)]
    http-request set-header x-regm %%[path,map_regm(%[4]s,none)]
    http-request set-header x-net %%[req.hdr(x-client),map_ip(%[5]s,none)]
    use_backend %%[req.hdr(host),lower,map_dom(%[3]s,be_def)]
    default_backend be_def

backend be_a
    http-request return status 200 content-type text/plain lf-string "be_a reg=%%[req.hdr(x-reg)] regm=%%[req.hdr(x-regm)] net=%%[req.hdr(x-net)]"

backend be_b
    http-request return status 200 content-type text/plain lf-string "be_b reg=%%[req.hdr(x-reg)] regm=%%[req.hdr(x-regm)] net=%%[req.hdr(x-net)]"

backend be_def
    http-request return status 200 content-type text/plain lf-string "be_def reg=%%[req.hdr(x-reg)] regm=%%[req.hdr(x-regm)] net=%%[req.hdr(x-net)]"
`, fe, sock, f.hosts, f.reg, f.ips, f.blocked)
}

// TestMapRoutingMatchesHAProxy: host-to-backend routing through map_dom,
// map_reg/map_regm on the path and map_ip on CIDR keys, an ACL from a file,
// in HAProxy 2.6 and Gatehouse on the same files; then the maps change at
// run time on both, through the runtime API (add map, set map, del map,
// add acl) and through set-map/del-map/add-acl rules: the same answers
// before and after, and the same runtime API output (entry pointers and
// the configuration's file name aside).
func TestMapRoutingMatchesHAProxy(t *testing.T) {
	files := writeMapFiles(t)
	type req struct{ host, path, client string }
	probe := []req{
		{"example.com", "/", ""},
		{"WWW.Example.COM", "/api/v2/users", "10.1.2.3"},
		{"api.example.com", "/api/x", "10.2.3.4"},
		{"static.example.net", "/a/b.png", "192.168.0.1"},
		{"new.example.org", "/x.css", "2001:db8::5"},
		{"notexample.com", "/", "172.16.0.9"},
		{"dyn.example.net", "/", ""},
		{"example.com", "/", "198.51.100.7"},
		{"example.com", "/", "192.0.2.10"},
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := mapsConfig(fe, sock, files)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		var out []string
		do := func(r req, extra ...string) {
			hr, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", fe, r.path), nil)
			hr.Host = r.host
			if r.client != "" {
				hr.Header.Set("X-Client", r.client)
			}
			for i := 0; i+1 < len(extra); i += 2 {
				hr.Header.Set(extra[i], extra[i+1])
			}
			resp, err := client.Do(hr)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(b)
			if resp.StatusCode != 200 {
				body = "" // error pages differ in wording, not in status
			}
			out = append(out, fmt.Sprintf("%s%s [%s] -> %d %s", r.host, r.path, r.client, resp.StatusCode, body))
		}
		round := func(label string) {
			out = append(out, "# "+label)
			for _, r := range probe {
				do(r)
			}
		}
		cfgName := regexp.MustCompile(`at file '[^']*' line`)
		ptr := regexp.MustCompile(`(?m)^0x[0-9a-f]+ `)
		// show map|acl: HAProxy numbers every pattern reference, its
		// inline ACLs' and internal ones' too, which Gatehouse does not
		// list, and resolves log-format expressions after the rest: the
		// ids are not compared.
		inline := regexp.MustCompile(`(?m)^\d+ \(\) acl .*
`)
		refID := regexp.MustCompile(`(?m)^\d+ \(`)
		api := func(cmd string) {
			a := apiCLI(t, sock, cmd)
			a = ptr.ReplaceAllString(cfgName.ReplaceAllString(a, "at file 'CFG' line"), "PTR ")
			a = refID.ReplaceAllString(inline.ReplaceAllString(a, ""), "ID (")
			out = append(out, "> "+cmd, a)
		}
		round("as loaded")
		api("show map")
		api("show acl")
		api("show map " + files.hosts)
		api("get map " + files.hosts + " www.example.com")
		api("get map " + files.ips + " 10.1.2.3")
		api("get acl " + files.blocked + " 192.0.2.10")
		// runtime API changes
		api("add map " + files.hosts + " new.example.org be_b")
		api("set map " + files.hosts + " example.com be_b")
		api("add map " + files.ips + " 10.1.2.0/24 net10_1_2")
		api("add acl " + files.blocked + " 198.51.100.0/24")
		round("after add/set")
		api("del map " + files.hosts + " example.com")
		api("del map " + files.hosts + " nope")
		api("set map " + files.hosts + " nope x")
		api("add map " + files.ips + " not-an-ip x")
		round("after del")
		// the same through rules
		do(req{"example.com", "/", ""}, "X-Set-Host", "dyn.example.net", "X-Set-Be", "be_a")
		do(req{"example.com", "/", ""}, "X-Del-Host", "api.example.com")
		do(req{"example.com", "/", ""}, "X-Block", "172.16.0.9")
		round("after rules")
		api("show map " + files.hosts)
		api("show acl " + files.blocked)
		api("clear map " + files.hosts)
		round("after clear")
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{"WWW.Example.COM/api/v2/users [10.1.2.3] -> 200 be_a reg=api-v\\1 regm=api-v2 net=net10_1",
		"new.example.org/x.css [2001:db8::5] -> 200 be_b", "dyn.example.net/ [] -> 200 be_a"} {
		if !strings.Contains(g, want) {
			t.Errorf("missing %q in:\n%s", want, g)
		}
	}
	t.Logf("both:\n%s", g)
}

// TestMapReloadRereadsFiles: a reload reads the pattern files again, as
// HAProxy's does: what the file says now is in, and changes made at run
// time are lost.
func TestMapReloadRereadsFiles(t *testing.T) {
	files := writeMapFiles(t)
	fe := testenv.FreePort(t)
	sock := filepath.Join(t.TempDir(), "g.sock")
	g := testenv.StartGatehouse(t, mapsConfig(fe, sock, files))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	route := func(host string) string {
		hr, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", fe), nil)
		hr.Host = host
		resp, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		be, _, _ := strings.Cut(string(b), " ")
		return be
	}
	if got := apiCLI(t, sock, "add map "+files.hosts+" runtime.example.org be_b"); got != "\n" {
		t.Fatalf("add map: %q", got)
	}
	if got := route("runtime.example.org"); got != "be_b" {
		t.Fatalf("runtime entry: routed to %s", got)
	}
	f, err := os.OpenFile(files.hosts, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("file.example.org be_b\n")
	f.Close()
	if got := route("file.example.org"); got != "be_def" {
		t.Fatalf("the file was read again before the reload: %s", got)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return route("file.example.org") == "be_b" },
		"the reload did not read the map file again")
	if got := route("runtime.example.org"); got != "be_def" {
		t.Errorf("a runtime entry survived the reload: routed to %s", got)
	}
	if got := apiCLI(t, sock, "show map "+files.hosts); strings.Contains(got, "runtime.example.org") || !strings.Contains(got, "file.example.org") {
		t.Errorf("show map after the reload:\n%s", got)
	}
}

// clientHello returns the first bytes a TLS client sends for sni.
func clientHello(t *testing.T, sni string) []byte {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		c.Close()
	}()
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16384)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// sniNameServer accepts connections, reads what comes, and answers its name.
func sniNameServer(t *testing.T, name string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Read(make([]byte, 16384))
				io.WriteString(c, name)
			}()
		}
	}()
	return l.Addr().String()
}

// TestMapSNIRoutingMatchesHAProxy: TLS passthrough routed by SNI through a
// map (use_backend %[req.ssl_sni,lower,map_dom(FILE,be_def)] in mode tcp,
// the OpenShift router's pattern), changed at run time with set map and
// add map, side by side with HAProxy 2.6.
func TestMapSNIRoutingMatchesHAProxy(t *testing.T) {
	dir := t.TempDir()
	sniMap := filepath.Join(dir, "sni.map")
	if err := os.WriteFile(sniMap, []byte("a.example.com be_a\nexample.org be_b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srvA, srvB, srvDef := sniNameServer(t, "A"), sniNameServer(t, "B"), sniNameServer(t, "DEF")
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content accept if { req_ssl_hello_type 1 }
    use_backend %%[req.ssl_sni,lower,map_dom(%s,be_def)] if { req.ssl_sni -m found }
    default_backend be_def

backend be_a
    server a %s

backend be_b
    server b %s

backend be_def
    server d %s
`, sock, fe, sniMap, srvA, srvB, srvDef)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		round := func(label string) {
			out = append(out, "# "+label)
			for _, sni := range []string{"A.Example.com", "x.a.example.com", "www.example.org", "example.net", "new.example.net"} {
				c, err := net.DialTimeout("tcp", testenv.LocalAddr(fe), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write(clientHello(t, sni))
				b, _ := io.ReadAll(c)
				c.Close()
				out = append(out, sni+" -> "+string(b))
			}
		}
		round("as loaded")
		out = append(out, apiCLI(t, sock, "set map "+sniMap+" example.org be_a"), apiCLI(t, sock, "add map "+sniMap+" new.example.net be_b"),
			apiCLI(t, sock, "add map "+sniMap+" example.net be_nope"))
		round("after set/add")
		results[name] = strings.Join(out, "\n")
	}
	if h, g := results["haproxy"], results["gatehouse"]; h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{"x.a.example.com -> A", "www.example.org -> B", "www.example.org -> A", "new.example.net -> B", "example.net -> DEF"} {
		if !strings.Contains(results["gatehouse"], want) {
			t.Errorf("missing %q in:\n%s", want, results["gatehouse"])
		}
	}
	t.Logf("both:\n%s", results["gatehouse"])
}

// TestMapMatchMethodsMatchHAProxy: every map_* converter, with string,
// integer and address outputs and defaults, on the same files and inputs in
// HAProxy 2.6 and Gatehouse: which entry answers (first in file order, or
// the longest for beg and ip) must be the same.
func TestMapMatchMethodsMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	w := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	str := w("str.map", "abc s1\nabc s2\n/a/b s3\nx.y.z s4\n")
	beg := w("beg.map", "/a s1\n/a/b/c s2\n/a/b s3\n/ s4\n")
	sub := w("sub.map", "b/c s1\n/a s2\nz s3\n")
	dirm := w("dir.map", "b s1\na/b s2\nc s3\n")
	dom := w("dom.map", "y.z s1\nx s2\nz s3\nw.x.y.z s4\n")
	end := w("end.map", "z s1\n.y.z s2\n/c s3\n")
	reg := w("reg.map", `^/a/([a-z]+) r-\1`+"\n"+`y\.z$ r2`+"\n"+`^(.*)$ all-\1`+"\n")
	ints := w("int.map", "5 i1\n1:10 i2\n20: i3\n:0 i4\n")
	ips := w("ip.map", "10.0.0.0/8 n1\n10.1.0.0/16 n2\n10.1.1.1 n3\n::/0 n4\n2001:db8::/32 n5\n")
	nums := w("num.map", "abc 10\n/a/b -3\nx.y.z 0\n")
	addrs := w("addr.map", "abc 192.0.2.1\n/a/b 2001:db8::1\n")
	ipnums := w("ipnum.map", "10.0.0.0/8 1\n::/0 2\n")
	cfgFmt := `global
    stats socket %[1]s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%[2]d
    http-request return status 200 content-type text/plain lf-string "str=%%[req.hdr(x-in),map_str(%[3]s,D)] map=%%[req.hdr(x-in),map(%[3]s)] beg=%%[req.hdr(x-in),map_beg(%[4]s,D)] sub=%%[req.hdr(x-in),map_sub(%[5]s,D)] dir=%%[req.hdr(x-in),map_dir(%[6]s,D)] dom=%%[req.hdr(x-in),map_dom(%[7]s,D)] end=%%[req.hdr(x-in),map_end(%[8]s,D)] reg=%%[req.hdr(x-in),map_reg(%[9]s,D)] regm=%%[req.hdr(x-in),map_regm(%[9]s,D)] int=%%[req.hdr(x-in),map_int(%[10]s,D)] ip=%%[req.hdr(x-in),map_ip(%[11]s,D)] str_int=%%[req.hdr(x-in),map_str_int(%[12]s,-1)] beg_int=%%[req.hdr(x-in),map_beg_int(%[12]s,7)] str_ip=%%[req.hdr(x-in),map_str_ip(%[13]s,127.0.0.1)] ip_int=%%[req.hdr(x-in),map_ip_int(%[14]s,0)] dom_ip=%%[req.hdr(x-in),map_dom_ip(%[13]s,::1)]"
`
	inputs := []string{"abc", "/a/b", "/a/b/c/d", "/a/x", "/", "x.y.z", "w.x.y.z", "q.z", "a/b/c", "b", "5", "7", "25", "-4", "0", "11",
		"10.1.1.1", "10.1.2.3", "10.9.9.9", "192.0.2.1", "2001:db8::7", "::ffff:10.1.1.1", "zz", "a.b"}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		// a file whose values are not integers cannot serve an _int map (the
		// load fails in both): num.map has integer values, addr.map addresses
		cfg := fmt.Sprintf(cfgFmt, sock, fe, str, beg, sub, dirm, dom, end, reg, ints, ips, nums, addrs, ipnums)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		var out []string
		for _, in := range inputs {
			hr, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", fe), nil)
			hr.Header.Set("X-In", in)
			resp, err := client.Do(hr)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s: %d %s", in, resp.StatusCode, b))
		}
		for _, in := range []string{"/a/b/c/d", "w.x.y.z", "10.1.2.3", "25"} {
			for _, f := range []string{beg, dom, ips, ints} {
				out = append(out, "> get map "+filepath.Base(f)+" "+in, apiCLI(t, sock, "get map "+f+" "+in))
			}
		}
		results[name] = strings.Join(out, "\n")
	}
	if h, g := results["haproxy"], results["gatehouse"]; h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", results["gatehouse"])
}

// TestACLFilesMatchHAProxy: ACLs loading their patterns from files (-f),
// with each matching method, -i before the file, -M (a map's keys), and
// inline patterns beside a file, in HAProxy 2.6 and Gatehouse: the same
// inputs match the same ACLs, and get acl answers alike.
func TestACLFilesMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	w := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paths := w("paths.lst", "# comment\n/Admin\n  /static/\n\n/x y\n")
	hosts := w("hosts.map", "example.com be_a\nfoo.org be_b\n")
	nets := w("nets.lst", "10.0.0.0/8\n192.168.1.1\n2001:db8::/32\n")
	ints := w("ints.lst", "1:9\n100\n")
	regs := w("regs.lst", "^/api/v[0-9]+/\n\\.php$\n")
	// One file per method among sub, dir and end, and int and len: HAProxy
	// 2.6 shares one pattern list between methods that parse and index
	// alike, and its lookup cache, keyed by list and sample, then answers
	// an end ACL with a sub ACL's result.
	words := w("words.lst", "admin\nwp-login.php\n")
	dirs := w("dirs.lst", "admin\nwp-login.php\n")
	ends := w("ends.lst", "admin\nwp-login.php\n")
	lens := w("lens.lst", "1:9\n100\n")
	type acl struct{ name, def string }
	acls := []acl{
		{"beg", "path -m beg -f " + paths},
		{"begi", "path -i -m beg -f " + paths},
		{"str", "path -f " + paths + " /inline"},
		{"dom", "req.hdr(x-in) -m dom -M -f " + hosts},
		{"strM", "req.hdr(x-in) -M -f " + hosts},
		{"ip", "req.hdr(x-in) -m ip -f " + nets},
		{"int", "req.hdr(x-in) -m int -f " + ints},
		{"reg", "path -m reg -f " + regs},
		{"regi", "path -i -m reg -f " + regs},
		{"sub", "path -m sub -f " + words},
		{"dir", "path -m dir -f " + dirs},
		{"end", "path -m end -f " + ends},
		{"len", "req.hdr(x-in) -m len -f " + lens},
	}
	var b strings.Builder
	for _, a := range acls {
		fmt.Fprintf(&b, "    acl %s %s\n", a.name, a.def)
	}
	for _, a := range acls {
		fmt.Fprintf(&b, "    http-request set-header x-%s 1 if %s\n", a.name, a.name)
	}
	b.WriteString(`    http-request return status 200 content-type text/plain lf-string "`)
	for _, a := range acls {
		fmt.Fprintf(&b, "%s=%%[req.hdr(x-%s)] ", a.name, a.name)
	}
	b.WriteString("\"\n")
	type in struct{ path, hdr string }
	inputs := []in{{"/Admin/x", "example.com"}, {"/admin/x", "www.example.com"}, {"/static/a.css", "foo.org"}, {"/inline", "a.foo.org.x"},
		{"/api/v2/u", "10.2.3.4"}, {"/API/V2/u", "192.168.1.1"}, {"/x/wp-login.php", "2001:db8::1"}, {"/a/admin/b", "5"}, {"/admin", "100"},
		{"/x%20y", "12345678"}, {"/", "x"}}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
%s`, sock, fe, b.String())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		var out []string
		for _, r := range inputs {
			hr, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", fe, r.path), nil)
			hr.Header.Set("X-In", r.hdr)
			resp, err := client.Do(hr)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s %s: %d %s", r.path, r.hdr, resp.StatusCode, body))
		}
		for _, q := range [][2]string{{paths, "/Admin/x"}, {paths, "/admin"}, {hosts, "a.foo.org"}, {nets, "10.9.8.7"}, {ints, "5"}, {regs, "/x.php"}, {words, "/y/admin/z"}, {dirs, "/y/admin/z"}, {ends, "/y/admin"}, {lens, "abcde"}} {
			out = append(out, "> get acl "+filepath.Base(q[0])+" "+q[1], apiCLI(t, sock, "get acl "+q[0]+" "+q[1]))
		}
		results[name] = strings.Join(out, "\n")
	}
	if h, g := results["haproxy"], results["gatehouse"]; h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", results["gatehouse"])
}

// TestMapPayloadMatchesHAProxy: "add map <map> <<" with one key and value
// per line up to an empty line, as HAProxy 2.6 reads it, then the map.
func TestMapPayloadMatchesHAProxy(t *testing.T) {
	m := filepath.Join(t.TempDir(), "p.map")
	if err := os.WriteFile(m, []byte("a 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr(x-in),map(%s,none)]"
`, sock, fe, m)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		ptr := regexp.MustCompile(`(?m)^0x[0-9a-f]+ `)
		var out []string
		for _, cmd := range []string{
			"add map " + m + " <<\nb 2\nc  two words \n\td\t4\n",
			"add map " + m + " <<\ne 5\nnovalue\n",
			"show map " + m,
			"get map " + m + " c",
		} {
			out = append(out, "> "+cmd, ptr.ReplaceAllString(apiCLI(t, sock, cmd), "PTR "))
		}
		results[name] = strings.Join(out, "\n")
	}
	if h, g := results["haproxy"], results["gatehouse"]; h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", results["gatehouse"])
}
