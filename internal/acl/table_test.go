package acl

import "testing"

// TestTables checks the keyword tables are consistent: unique names, ACL
// derivatives pointing at real fetches, argument specs well formed.
func TestTables(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range fetchTable() {
		if seen[f.name] {
			t.Errorf("fetch %q listed twice", f.name)
		}
		seen[f.name] = true
		if f.fn == nil || f.doc == "" {
			t.Errorf("fetch %q lacks a function or a doc", f.name)
		}
		opt := false
		for _, c := range f.args {
			switch c {
			case 's', 'i':
				if opt {
					t.Errorf("fetch %q: required argument after an optional one", f.name)
				}
			case 'S', 'I':
				opt = true
			default:
				t.Errorf("fetch %q: bad argument spec %q", f.name, f.args)
			}
		}
		if f.occArg > 0 && (f.occArg >= len(f.args) || f.args[f.occArg] != 'I') {
			t.Errorf("fetch %q: occurrence argument %d is not an optional integer", f.name, f.occArg)
		}
	}
	for _, k := range aclKeywords() {
		if seen[k.name] {
			t.Errorf("ACL derivative %q shadows a fetch", k.name)
		}
		if findFetch(fetchTable(), k.fetch) == nil {
			t.Errorf("ACL derivative %q uses unknown fetch %q", k.name, k.fetch)
		}
	}
	cs := map[string]bool{}
	for _, c := range convTable() {
		if cs[c.name] {
			t.Errorf("converter %q listed twice", c.name)
		}
		cs[c.name] = true
	}
	if len(FetchKeywords()) != len(fetchTable()) || len(ConverterKeywords()) != len(convTable()) {
		t.Error("keyword reference out of sync with the tables")
	}
	for _, p := range predefined() {
		if p.args == nil {
			continue
		}
		if _, err := compileACLTest(p.args, aclKeywords()); err != nil {
			t.Errorf("predefined %s: %v", p.name, err)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	cands := []string{"hdr", "req.hdr", "path", "path_beg", "lower"}
	for _, tc := range []struct{ in, want string }{
		{"hdrr", "hdr"}, {"pth", "path"}, {"path_bge", "path_beg"}, {"lowre", "lower"}, {"xyzzy", ""}, {"", ""},
	} {
		if got := didYouMean(tc.in, cands); got != tc.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
