package main

import (
	"bytes"
	"reflect"
	"runtime"
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
	for _, want := range []string{"Gatehouse version " + version, "Commit: ", "Built with Go: " + runtime.Version(), "Feature list : ", "+SYSTEMD"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-vv lacks %q:\n%s", want, out.String())
		}
	}
}
