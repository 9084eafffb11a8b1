package cfgparse

import (
	"slices"
	"strings"
	"testing"
)

func TestProgramSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`program p
    command /usr/bin/env "A B" c
    user root
    group root
    no option start-on-reload
program q
    command sleep 1
frontend f
    bind :8080
    timeout client 1s
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Programs) != 2 {
		t.Fatalf("%+v", c.Programs)
	}
	p, q := c.Programs[0], c.Programs[1]
	if !slices.Equal(p.Command, []string{"/usr/bin/env", "A B", "c"}) || p.UID != 0 || p.GID != 0 || !p.NoStartOnReload {
		t.Errorf("p: %+v", p)
	}
	if q.NoStartOnReload || q.UID != -1 || q.GID != -1 {
		t.Errorf("q: %+v", q)
	}
}

func TestProgramErrors(t *testing.T) {
	const fe = "frontend f\n    bind :8080\n"
	for _, tc := range []struct{ cfg, want string }{
		{"program p\n    user root\n" + fe, "program section 'p' lacks any command"},
		{"program p\n    command\n" + fe, "'command' expects at least 1 argument"},
		{"program p\n    command a\n    command b\n" + fe, "'command' is already set"},
		{"program p\n    command a\n    user no-such-user-here\n" + fe, "cannot find user id for 'no-such-user-here'"},
		{"program p\n    command a\n    option httplog\n" + fe, "only supports 'start-on-reload'"},
		{"program\n" + fe, "'program' expects an <id> argument"},
	} {
		_, err := Parse("t.cfg", []byte(tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
