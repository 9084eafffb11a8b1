package cfgparse

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

const processTail = `
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind 127.0.0.1:8080
    http-request return status 200
`

func parseProcess(t *testing.T, global string, opt Options) (*config.Config, error) {
	t.Helper()
	if opt.LookupEnv == nil {
		opt.LookupEnv = testEnv
	}
	return Parse("p.cfg", []byte("global\n"+global+processTail), opt)
}

// TestProcessKeywords: each process keyword lands in the model as HAProxy
// reads it (the command applies them; see internal/process).
func TestProcessKeywords(t *testing.T) {
	users := func(n string) (int, error) {
		if n == "haproxy" {
			return 103, nil
		}
		return 0, errors.New("unknown user " + n)
	}
	groups := func(n string) (int, error) {
		if n == "haproxy" {
			return 106, nil
		}
		return 0, errors.New("unknown group " + n)
	}
	cfg, err := parseProcess(t, `
    user haproxy
    group haproxy
    chroot /var/lib/haproxy
    pidfile /run/haproxy.pid
    ulimit-n 8192
    fd-hard-limit 50000
    no strict-limits
    set-dumpable
    node edge-1.eu_west
    description Edge   proxy "of the fleet"
    max-spread-checks 5s
    zero-warning
`, Options{LookupUser: users, LookupGroup: groups})
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Global.Process
	want := config.Process{UID: 103, GID: 106, User: "haproxy", Group: "haproxy", Chroot: "/var/lib/haproxy",
		Pidfile: "/run/haproxy.pid", UlimitN: 8192, FDHardLimit: 50000, NoStrictLimits: true,
		SetDumpable: true, Node: "edge-1.eu_west", Description: "Edge proxy of the fleet",
		MaxSpreadChecks: 5 * time.Second, ZeroWarning: true}
	if got.Env != nil || got.UID != want.UID || got.GID != want.GID || got.User != want.User || got.Group != want.Group ||
		got.Chroot != want.Chroot || got.Pidfile != want.Pidfile || got.UlimitN != want.UlimitN ||
		got.FDHardLimit != want.FDHardLimit || got.NoStrictLimits != want.NoStrictLimits || got.SetDumpable != want.SetDumpable ||
		got.Node != want.Node || got.Description != want.Description || got.MaxSpreadChecks != want.MaxSpreadChecks ||
		got.ZeroWarning != want.ZeroWarning {
		t.Errorf("process model:\n got %+v\nwant %+v", got, want)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}

	cfg, err = parseProcess(t, "    uid 99\n    gid 98\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Global.Process; p.UID != 99 || p.GID != 98 || p.NoStrictLimits {
		t.Errorf("uid/gid: %+v", p)
	}
}

// TestProcessKeywordErrors: what HAProxy refuses is refused with its
// message; a second user/group/chroot is HAProxy's "Continuing." (kept as
// a warning, the first value stays).
func TestProcessKeywordErrors(t *testing.T) {
	none := func(string) (int, error) { return 0, errors.New("unknown") }
	for _, tc := range []struct{ global, want string }{
		{"    user nosuchuser\n", "cannot find user id for 'nosuchuser'"},
		{"    group nosuchgroup\n", "cannot find group id for 'nosuchgroup'"},
		{"    uid abc\n", "uid: string 'abc' is not a number"},
		{"    gid -1\n", "gid: string '-1' is not a number"},
		{"    node a/b\n", "'node' requires valid node name"},
		{"    setenv A\n", "'setenv' expects a name and a value."},
		{"    unsetenv\n", "'unsetenv' expects at least one variable name."},
		{"    ulimit-n many\n", "'ulimit-n'"},
		{"    chroot\n", "'chroot' expects a directory"},
		{"    zero-warning now\n", "'zero-warning' cannot handle unexpected argument 'now'"},
		{"    max-spread-checks soon\n", "'max-spread-checks'"},
		{"    no chroot /x\n", "negation ('no') is only supported for"},
	} {
		_, err := parseProcess(t, tc.global, Options{LookupUser: none, LookupGroup: none})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.global, err, tc.want)
		}
	}
	cfg, err := parseProcess(t, "    uid 5\n    uid 6\n    gid 7\n    gid 8\n    chroot /a\n    chroot /b\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Global.Process; p.UID != 5 || p.GID != 7 || p.Chroot != "/a" {
		t.Errorf("the first value must stay: %+v", p)
	}
	var msgs []string
	for _, w := range cfg.Warnings {
		msgs = append(msgs, w.Msg)
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"user/uid already specified. Continuing.", "gid/group was already specified. Continuing.", "chroot already specified. Continuing."} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing warning %q in %q", want, joined)
		}
	}
}

// TestEnvKeywords: setenv & co. change what the next lines see in
// "${VAR}" without touching the process environment, and are recorded in
// order for the command to replay.
func TestEnvKeywords(t *testing.T) {
	base := map[string]string{"KEEP": "k", "DROP": "d", "PRE": "old"}
	lookup := func(n string) (string, bool) { v, ok := base[n]; return v, ok }
	cfg, err := parseProcess(t, `
    setenv NODE_NAME "edge-${PRE}"
    presetenv PRE new
    presetenv FRESH fresh
    node "${NODE_NAME}"
    unsetenv DROP
    description "${KEEP}|${DROP}|${FRESH}|${PRE}"
`, Options{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Global.Process
	if p.Node != "edge-old" {
		t.Errorf("node = %q, want edge-old (setenv seen by the next line; presetenv keeps PRE)", p.Node)
	}
	if p.Description != "k||fresh|old" {
		t.Errorf("description = %q, want k||fresh|old", p.Description)
	}
	if len(p.Env) != 4 || p.Env[0].Op != "setenv" || p.Env[3].Op != "unsetenv" || p.Env[3].Names[0] != "DROP" {
		t.Errorf("recorded operations: %+v", p.Env)
	}

	cfg, err = parseProcess(t, `
    setenv A a
    resetenv KEEP A
    description "${KEEP}|${DROP}|${A}"
`, Options{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Global.Process.Description; got != "k||a" {
		t.Errorf("after resetenv KEEP A: %q, want k||a", got)
	}
	cfg, err = parseProcess(t, "    resetenv\n    description \"${KEEP}x\"\n", Options{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Global.Process.Description; got != "x" {
		t.Errorf("after a bare resetenv: %q, want x", got)
	}
}

// TestUnixBind: checked as HAProxy checks it.
func TestUnixBind(t *testing.T) {
	users := func(n string) (int, error) {
		if n == "haproxy" {
			return 103, nil
		}
		return 0, errors.New("unknown")
	}
	cfg, err := parseProcess(t, "    unix-bind prefix /run/hap/ mode 660 user haproxy gid 7\n    unix-bind prefix /other\n", Options{LookupUser: users, LookupGroup: users})
	if err != nil {
		t.Fatal(err)
	}
	if ub := cfg.Global.Process.UnixBind; ub != (config.UnixBind{Prefix: "/run/hap/", Mode: 0o660, UID: 103, GID: 7}) {
		t.Errorf("unix-bind: %+v", ub)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Msg != "unix-bind 'prefix' already specified. Continuing." {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	for _, tc := range []struct{ line, want string }{
		{"    unix-bind user nosuch\n", "'unix-bind' : 'nosuch' unknown user."},
		{"    unix-bind group nosuch\n", "'unix-bind' : 'nosuch' unknown group."},
		{"    unix-bind foo 1\n", "'unix-bind' only supports the 'prefix', 'mode', 'uid', 'gid', 'user' and 'group' options."},
		{"    unix-bind mode\n", "'unix-bind' : 'mode' expects an argument"},
		{"    unix-bind mode 999\n", "'mode' expects an octal file mode"},
		{"    unix-bind uid x\n", "'uid' expects a number"},
	} {
		if _, err := parseProcess(t, tc.line, Options{LookupUser: users, LookupGroup: users}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.line, err, tc.want)
		}
	}
}
