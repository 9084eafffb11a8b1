package runtimeapi

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/maps"
)

type mapsTarget struct {
	nopTarget
	reg *maps.Registry
}

func (t mapsTarget) Maps() *maps.Registry { return t.reg }

// TestMapCommands runs the map and ACL commands on a registry loaded as a
// configuration loads it; the answers are HAProxy 2.6's (its pointers
// aside: Gatehouse numbers entries).
func TestMapCommands(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts.map")
	bad := filepath.Join(dir, "bad.lst")
	os.WriteFile(hosts, []byte("example.com be_a\nwww.example.com be_www\n"), 0o644)
	os.WriteFile(bad, []byte("10.0.0.0/8\n"), 0o644)
	reg := maps.NewRegistry()
	if _, err := acl.NewSetMaps([]*config.ACL{
		{Pos: config.Pos{File: "h.cfg", Line: 10}, Name: "bad", Args: []string{"src", "-f", bad}},
		{Pos: config.Pos{File: "h.cfg", Line: 11}, Name: "k", Args: []string{"hdr(host)", "-M", "-f", hosts}},
	}, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := acl.CompileExprMaps("req.hdr(host),lower,map_dom("+hosts+",be_def)", config.Pos{File: "h.cfg", Line: 13}, reg); err != nil {
		t.Fatal(err)
	}
	ss := &session{target: mapsTarget{reg: reg}, level: LevelAdmin}
	run := func(line string) string {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		ss.run(w, splitCommands(line)[0])
		w.Flush()
		return b.String()
	}
	ptr := regexp.MustCompile(`(?m)^0x[0-9a-f]+ `)
	for _, tc := range []struct{ cmd, want string }{
		{"show map", "# id (file) description\n2 (" + hosts + ") pattern loaded from file '" + hosts + "' used by map at file 'h.cfg' line 11, by map at file 'h.cfg' line 13. curr_ver=0 next_ver=0 entry_cnt=4\n"},
		{"show acl", "# id (file) description\n0 (" + bad + ") pattern loaded from file '" + bad + "' used by acl at file 'h.cfg' line 10. curr_ver=0 next_ver=0 entry_cnt=1\n" +
			"2 (" + hosts + ") pattern loaded from file '" + hosts + "' used by map at file 'h.cfg' line 11, by map at file 'h.cfg' line 13. curr_ver=0 next_ver=0 entry_cnt=4\n"},
		{"show map " + hosts, "P example.com be_a\nP www.example.com be_www\n"},
		{"get map " + hosts + " a.www.example.com", "type=str, case=sensitive, found=no\ntype=dom, case=sensitive, found=yes, idx=list, key=\"example.com\", value=\"be_a\", type=\"str\"\n"},
		{"get acl " + bad + " 10.1.1.1", "type=ip, case=sensitive, match=yes, idx=tree, pattern=\"10.0.0.0/8\"\n"},
		{"get acl " + bad + " 11.1.1.1", "type=ip, case=sensitive, match=no\n"},
		{"add map " + hosts + " new.com be_new", ""},
		{"add map " + hosts + " onlykey", "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"},
		{"add acl " + hosts + " x", "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n"},
		{"set map " + hosts + " nope v", "entry not found.\n"},
		{"set map " + hosts + " new.com be_newer", ""},
		{"del map " + hosts + " nope", "Key not found.\n"},
		{"set map " + hosts + " #0xzz v", "Malformed identifier. Please use #<id> or <file>.\n"},
		{"show map " + hosts, "P example.com be_a\nP www.example.com be_www\nP new.com be_newer\n"},
		{"del map " + hosts + " #0x1", ""},
		{"show map #2", "P www.example.com be_www\nP new.com be_newer\n"},
		{"show map nope", "Unknown map identifier. Please use #<id> or <file>.\n"},
		{"show map " + bad, "Unknown map identifier. Please use #<id> or <file>.\n"},
		{"add acl " + bad + " 11.0.0.0/8", ""},
		{"add acl " + bad + " notanip", "'notanip' is not a valid IPv4 or IPv6 address.\n"},
		{"show acl " + bad, "P 10.0.0.0/8\nP 11.0.0.0/8\n"},
		{"del acl " + bad + " 1.2.3.4", "Key not found.\n"},
		{"clear acl " + bad, ""},
		{"show acl #0", ""},
		{"clear map", "Missing map identifier.\n"},
		{"clear map " + bad, "Unknown map identifier. Please use #<id> or <file>.\n"},
		{"del map", "This command expects two parameters: map identifier and key.\n"},
		{"set map", "'set map' expects three parameters: map identifier, key and value.\n"},
		{"get map", "Missing map identifier and/or key.\n"},
		{"show map @1 " + hosts, "Gatehouse does not implement map and ACL versions (@<ver>, prepare, commit).\n"},
	} {
		if got := ptr.ReplaceAllString(run(tc.cmd), "P "); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.cmd, got, tc.want)
		}
	}
	ss.level = LevelOperator
	if got := run("show map"); got != PermissionDenied {
		t.Errorf("operator: %q", got)
	}
}
