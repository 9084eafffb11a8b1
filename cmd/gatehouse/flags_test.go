package main

import (
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestPIDLists: -sf and -st take the PIDs up to the next option, as
// HAProxy reads them; an empty list is fine, a non-number is not.
func TestPIDLists(t *testing.T) {
	var opt options
	rest, err := takePIDLists([]string{"-f", "a.cfg", "-sf", "10", "11", "-p", "x.pid", "-st", "-q"}, &opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rest, []string{"-f", "a.cfg", "-p", "x.pid", "-q"}) || !reflect.DeepEqual(opt.finish, []int{10, 11}) || opt.terminate != nil {
		t.Errorf("rest %v finish %v terminate %v", rest, opt.finish, opt.terminate)
	}
	opt = options{}
	if _, err := takePIDLists([]string{"-st", "12", "abc"}, &opt); err == nil || !strings.Contains(err.Error(), "-st: 'abc' is not a process ID") {
		t.Errorf("a non-number: %v", err)
	}
}

// TestBuildInfo: -vv names the version, commit, Go version and features.
func TestBuildInfo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-vv"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"Gatehouse version " + buildStamp().Version, "Commit: " + buildStamp().Commit, "Built with Go: " + runtime.Version(), "Feature list : ", "+SYSTEMD"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-vv lacks %q:\n%s", want, out.String())
		}
	}
}

// TestResolveStamp: -ldflags values win; else Go's build information (the
// module version of 'go install pkg@v', the VCS revision of a clone); else
// the development version and "unknown".
func TestResolveStamp(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-07T06:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}
	for _, tc := range []struct {
		name     string
		ldV, ldC string
		bi       *debug.BuildInfo
		want     stamp
	}{
		{"nothing", "", "", nil, stamp{Version: devVersion, Commit: "unknown"}},
		{"devel, no vcs", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, stamp{Version: devVersion, Commit: "unknown"}},
		{"vcs", "", "", vcs, stamp{Version: devVersion, Commit: "0123abcd", Time: "2026-12-07T06:00:00Z", Modified: true}},
		{"go install", "", "", installed, stamp{Version: "1.4.0", Commit: "unknown"}},
		{"ldflags over vcs", "1.2.0", "feedbeef", vcs, stamp{Version: "1.2.0", Commit: "feedbeef", Time: "2026-12-07T06:00:00Z", Modified: true}},
		{"ldflags dirty", "1.2.0", "feedbeef-dirty", installed, stamp{Version: "1.2.0", Commit: "feedbeef", Modified: true}},
	} {
		if got := resolveStamp(tc.ldV, tc.ldC, tc.bi); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestReleaseStamps: 'make release' builds a static binary whose -v names
// the version given and the commit checked out (the -X names are right).
func TestReleaseStamps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	mk := exec.Command("make", "-C", root, "release", "BIN="+bin, "VERSION=9.8.7-test")
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("-v: %v\n%s", err, out)
	}
	want := "Gatehouse version 9.8.7-test (commit " + strings.TrimSpace(string(rev))
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("-v: %q, want it to start with %q", out, want)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Static: no program interpreter (the image has no libc).
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the release binary is dynamically linked (it has a PT_INTERP)")
		}
	}
}
