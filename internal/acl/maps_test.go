package acl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/maps"
)

func writeFile(tb testing.TB, dir, name, body string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func inTxn(v string) *Txn {
	return &Txn{Req: &httpmsg.Request{Method: "GET", URI: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1,
		Header: httpmsg.Headers{{Name: "X-In", Value: v}}}}
}

func evalStr(tb testing.TB, e *Expr, in string) (string, bool) {
	tb.Helper()
	out, ok := e.AppendString(nil, inTxn(in))
	return string(out), ok
}

// TestMapConverters checks each map_* converter's answer on one file: the
// first entry in file order, except beg and ip which take the longest
// match (HAProxy's trees), the defaults, and the typed outputs.
func TestMapConverters(t *testing.T) {
	dir := t.TempDir()
	str := writeFile(t, dir, "str.map", "# comment\nexample.com be_a\n\n  www.example.com   be_www  \nexample.com be_dup\nx\n")
	beg := writeFile(t, dir, "beg.map", "/api v1\n/api/v2 v2\n/ root\n")
	sub := writeFile(t, dir, "sub.map", "cat one\nconcat two\n")
	dom := writeFile(t, dir, "dom.map", "example.com ex\nfoo.example.com foo\n.org org\n")
	dir2 := writeFile(t, dir, "dir.map", "img pics\nstatic/img both\n")
	end := writeFile(t, dir, "end.map", ".png png\ng.png gpng\n")
	reg := writeFile(t, dir, "reg.map", `^/u/([0-9]+)$ user-\1`+"\n"+`^/u/ any`+"\n")
	ints := writeFile(t, dir, "int.map", "0:99 small\n100: big\n42 answer\n")
	ips := writeFile(t, dir, "ip.map", "10.0.0.0/8 ten\n10.1.0.0/16 ten-one\n192.168.1.1 host\n2001:db8::/32 doc6\n::ffff:172.16.0.0/108 mapped\n")
	vals := writeFile(t, dir, "vals.map", "a 12\nb -3\n")
	ipvals := writeFile(t, dir, "ipvals.map", "a 10.0.0.1\nb ::1\n")
	reg2 := maps.NewRegistry()
	for _, tc := range []struct {
		expr, in, want string
		ok             bool
	}{
		{"map(" + str + ")", "example.com", "be_a", true}, // first of two duplicates
		{"map_str(" + str + ")", "www.example.com", "be_www", true},
		{"map_str(" + str + ")", "x", "", true}, // a key without value
		{"map_str(" + str + ")", "nope", "", false},
		{"map_str(" + str + ",fallback)", "nope", "fallback", true},
		{"map_beg(" + beg + ")", "/api/v2/x", "v2", true}, // longest prefix
		{"map_beg(" + beg + ")", "/api/v1", "v1", true},
		{"map_beg(" + beg + ")", "/other", "root", true},
		{"map_sub(" + sub + ")", "xconcatx", "one", true}, // first in file order
		{"map_dom(" + dom + ")", "a.foo.example.com", "ex", true},
		{"map_dom(" + dom + ")", "foo.example.com", "ex", true},
		{"map_dom(" + dom + ")", "example.org", "org", true},
		{"map_dom(" + dom + ")", "notexample.com", "", false},
		{"map_dom(" + dom + ",def)", "example.co", "def", true},
		{"map_dir(" + dir2 + ")", "/static/img/a.png", "pics", true},
		{"map_dir(" + dir2 + ")", "/imgs/a", "", false},
		{"map_end(" + end + ")", "/a/big.png", "png", true},
		{"map_reg(" + reg + ")", "/u/42", `user-\1`, true},
		{"map_regm(" + reg + ")", "/u/42", "user-42", true},
		{"map_regm(" + reg + ")", "/u/x", "any", true},
		{"map_int(" + ints + ")", "42", "small", true},
		{"map_int(" + ints + ")", "100", "big", true},
		{"map_int(" + ints + ",neg)", "-1", "neg", true},
		{"map_int(" + ints + ")", "abc", "small", true}, // HAProxy's cast: no digit is 0
		{"map_int(" + ints + ")", "150.2", "big", true}, // the leading digits

		{"map_ip(" + ips + ")", "10.1.2.3", "ten-one", true}, // longest prefix
		{"map_ip(" + ips + ")", "10.2.2.3", "ten", true},
		{"map_ip(" + ips + ")", "192.168.1.1", "host", true},
		{"map_ip(" + ips + ")", "192.168.1.2", "", false},
		{"map_ip(" + ips + ")", "2001:db8::5", "doc6", true},
		{"map_ip(" + ips + ")", "172.16.0.9", "mapped", true},
		{"map_ip(" + ips + ")", "::ffff:10.1.0.1", "ten-one", true},
		{"map_ip(" + ips + ",none)", "not-an-ip", "", false},
		{"map_str_int(" + vals + ")", "b", "-3", true},
		{"map_str_int(" + vals + ",7)", "c", "7", true},
		{"map_str_ip(" + ipvals + ")", "b", "::1", true},
		{"map_str_ip(" + ipvals + ",127.0.0.1)", "c", "127.0.0.1", true},
		{"map_ip_int(" + writeFile(t, dir, "ipint.map", "10.0.0.0/8 1\n") + ",0)", "10.9.9.9", "1", true},
	} {
		e, err := CompileExprMaps("req.hdr(x-in),"+strings.TrimPrefix(tc.expr, ""), testPos, reg2)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got, ok := evalStr(t, e, tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s on %q = %q, %v; want %q, %v", tc.expr, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMapTypedOutputInACL(t *testing.T) {
	dir := t.TempDir()
	m := writeFile(t, dir, "lim.map", "a 12\nb 3\n")
	s, err := NewSetMaps([]*config.ACL{{Pos: testPos, Name: "big", Args: []string{"req.hdr(x-in),map_str_int(" + m + ",0)", "gt", "10"}}}, maps.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Cond(&config.Cond{Terms: []string{"big"}})
	if !c.Match(inTxn("a")) || c.Match(inTxn("b")) || c.Match(inTxn("z")) {
		t.Error("map_str_int output compared as an integer")
	}
}

func TestMapLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ expr, want string }{
		{"map_reg(" + writeFile(t, dir, "r.map", "ok 1\n( bad\n") + ")", "at line 2"},
		{"map_str_int(" + writeFile(t, dir, "i.map", "a 1\nb two\n") + ")", "unable to parse 'two' at line 2 of file"},
		{"map_str_ip(" + writeFile(t, dir, "p.map", "a 1.2.3.4\nb nope\n") + ")", "unable to parse 'nope'"},
		{"map_ip(" + writeFile(t, dir, "n.map", "10.0.0.0/33 x\n") + ")", "not a valid IPv4 or IPv6 address"},
		{"map_int(" + writeFile(t, dir, "k.map", "abc x\n") + ")", "not a number"},
		{"map_str_ip(" + writeFile(t, dir, "d.map", "") + ",nope)", "cannot parse default ip <nope>"},
		{"map_str_int(" + writeFile(t, dir, "e.map", "") + ",nope)", "expected an integer"},
		{"map(" + filepath.Join(dir, "missing.map") + ")", "failed to open pattern file"},
		{"map()", "missing arguments"},
	} {
		_, err := CompileExprMaps("req.hdr(x-in),"+tc.expr, testPos, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.expr, err, tc.want)
		}
	}
	// one file cannot be a map and a one-column ACL file at once
	reg := maps.NewRegistry()
	f := writeFile(t, dir, "both", "a b\n")
	if _, err := CompileExprMaps("req.hdr(x-in),map("+f+")", testPos, reg); err != nil {
		t.Fatal(err)
	}
	_, err := NewSetMaps([]*config.ACL{{Pos: testPos, Name: "x", Args: []string{"req.hdr(x-in)", "-f", f}}}, reg)
	if err == nil || !strings.Contains(err.Error(), "already used as two column file") {
		t.Errorf("map then ACL file: %v", err)
	}
	if _, err := NewSetMaps([]*config.ACL{{Pos: testPos, Name: "x", Args: []string{"req.hdr(x-in)", "-M", "-f", f}}}, reg); err != nil {
		t.Errorf("-M: %v", err)
	}
	_, err = NewSetMaps([]*config.ACL{{Pos: testPos, Name: "x", Args: []string{"req.hdr(x-in)", "-f", f, "-m", "str"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "'-m' must only be specified before") {
		t.Errorf("-m after -f: %v", err)
	}
}

// TestMapsSharedAtRunTime: every user of a file sees changes made through
// its Ref at once: converters with different methods, and ACLs.
func TestMapsSharedAtRunTime(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "hosts.map", "example.com be_a\n")
	reg := maps.NewRegistry()
	dom, _ := CompileExprMaps("req.hdr(x-in),map_dom("+f+",none)", testPos, reg)
	str, _ := CompileExprMaps("req.hdr(x-in),map_str("+f+",none)", testPos, reg)
	s, err := NewSetMaps([]*config.ACL{{Pos: testPos, Name: "known", Args: []string{"req.hdr(x-in)", "-M", "-f", f}}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	known, _ := s.Cond(&config.Cond{Terms: []string{"known"}})
	ref := reg.Lookup(f)
	if ref == nil || len(reg.Refs()) != 1 {
		t.Fatalf("one shared Ref expected, got %d", len(reg.Refs()))
	}
	check := func(in, wantDom, wantStr string, wantKnown bool) {
		t.Helper()
		if got, _ := evalStr(t, dom, in); got != wantDom {
			t.Errorf("map_dom(%s) = %q, want %q", in, got, wantDom)
		}
		if got, _ := evalStr(t, str, in); got != wantStr {
			t.Errorf("map_str(%s) = %q, want %q", in, got, wantStr)
		}
		if got := known.Match(inTxn(in)); got != wantKnown {
			t.Errorf("acl -M -f on %s = %v", in, got)
		}
	}
	check("www.example.com", "be_a", "none", false)
	if err := ref.Add("www.example.com", "be_www"); err != nil {
		t.Fatal(err)
	}
	check("www.example.com", "be_a", "be_www", true) // dom: first in file order
	if err := ref.Set("example.com", 0, false, "be_b"); err != nil {
		t.Fatal(err)
	}
	check("a.example.com", "be_b", "none", false)
	if err := ref.Delete("example.com", 0, false); err != nil {
		t.Fatal(err)
	}
	check("www.example.com", "be_www", "be_www", true)
	check("a.example.com", "none", "none", false)
	if err := ref.Delete("nope", 0, false); err != maps.ErrNotFound {
		t.Errorf("delete of a missing key: %v", err)
	}
	ref.Clear()
	check("www.example.com", "none", "none", false)
	// duplicates: the first added wins until it is deleted by id
	ref.Add("k", "one")
	ref.Add("k", "two")
	es := ref.Entries()
	if got, _ := evalStr(t, str, "k"); got != "one" {
		t.Errorf("duplicate: %q", got)
	}
	if err := ref.Delete("", es[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := evalStr(t, str, "k"); got != "two" {
		t.Errorf("after deleting the first duplicate: %q", got)
	}
}

func TestMapRejectsBadRuntimeEntries(t *testing.T) {
	dir := t.TempDir()
	reg := maps.NewRegistry()
	f := writeFile(t, dir, "r.map", "^a 1\n")
	if _, err := CompileExprMaps("req.hdr(x-in),map_reg_int("+f+")", testPos, reg); err != nil {
		t.Fatal(err)
	}
	ref := reg.Lookup(f)
	if err := ref.Add("(", "1"); err == nil {
		t.Error("a bad regex was added")
	}
	if err := ref.Add("^b", "x"); err == nil {
		t.Error("a non-integer value was added to an _int map")
	}
	if err := ref.Set("^a", 0, false, "y"); err == nil {
		t.Error("a non-integer value was set")
	}
	if n := ref.Len(); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
}

func TestACLFileAtRunTime(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "bad.lst", "10.0.0.0/8\n")
	reg := maps.NewRegistry()
	s, err := NewSetMaps([]*config.ACL{
		{Pos: testPos, Name: "bad", Args: []string{"req.hdr(x-in)", "-m", "ip", "-f", f}},
		{Pos: testPos, Name: "path", Args: []string{"req.hdr(x-in)", "-i", "-m", "beg", "-f", writeFile(t, dir, "p.lst", "/Admin\n")}},
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := s.Cond(&config.Cond{Terms: []string{"bad"}})
	path, _ := s.Cond(&config.Cond{Terms: []string{"path"}})
	if !bad.Match(inTxn("10.2.3.4")) || bad.Match(inTxn("192.0.2.1")) {
		t.Fatal("file patterns")
	}
	ref := reg.Lookup(f)
	ref.AddMissing("192.0.2.0/24")
	ref.AddMissing("192.0.2.0/24")
	if !bad.Match(inTxn("192.0.2.1")) || ref.Len() != 2 {
		t.Errorf("add-acl: match %v, %d entries", bad.Match(inTxn("192.0.2.1")), ref.Len())
	}
	ref.Delete("10.0.0.0/8", 0, false)
	if bad.Match(inTxn("10.2.3.4")) {
		t.Error("del-acl")
	}
	if !path.Match(inTxn("/adMIN/x")) {
		t.Error("-i -f")
	}
}

// TestMapConcurrentReadersAndWriters runs lookups while the file changes
// (run with -race).
func TestMapConcurrentReadersAndWriters(t *testing.T) {
	dir := t.TempDir()
	reg := maps.NewRegistry()
	f := writeFile(t, dir, "c.map", "base.example.com base\n")
	e, err := CompileExprMaps("req.hdr(x-in),map_dom("+f+",none)", testPos, reg)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Lookup(f)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := inTxn("a.base.example.com")
			for {
				select {
				case <-stop:
					return
				default:
				}
				if out, ok := e.AppendString(nil, tx); !ok || string(out) != "base" {
					t.Errorf("lookup during writes: %q", out)
					return
				}
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		k := fmt.Sprintf("h%d.example.net", i%50)
		ref.Add(k, "v")
		ref.Set(k, 0, false, "w")
		ref.Delete(k, 0, false)
	}
	close(stop)
	wg.Wait()
}

// TestACLUniqueIDFlag: -u takes an argument (it was taken for a flag and
// its id for a pattern); Gatehouse refuses it by name.
func TestACLUniqueIDFlag(t *testing.T) {
	_, err := NewSet([]*config.ACL{{Pos: testPos, Name: "x", Args: []string{"path", "-u", "5", "/a"}}})
	if err == nil || !strings.Contains(err.Error(), "'-u 5'") {
		t.Errorf("-u 5: %v", err)
	}
}
