package cfgparse

import (
	"strings"
	"testing"
)

// TestStatsBindProcess: the values HAProxy 2.6 accepts (one process, so
// only those selecting process 1) and its error for the others, checked
// against 'haproxy -c' by hand and in integration's TestCheckLikeHAProxy.
func TestStatsBindProcess(t *testing.T) {
	for _, v := range []string{"1", "all", "odd", "even", "1-", "1-1", "1 all 2"} {
		c, err := Parse("t.cfg", []byte("global\n    stats bind-process "+v+"\n"+quietFrontend), Options{})
		if err != nil {
			t.Errorf("stats bind-process %s: %v", v, err)
			continue
		}
		if len(c.Warnings) != 0 {
			t.Errorf("stats bind-process %s: warnings %v (HAProxy 2.6 prints none)", v, c.Warnings)
		}
	}
	for v, want := range map[string]string{
		"2":   "'stats bind-process' : '2' is not a valid number/range. It supports numbers from 1 to 1.",
		"1-2": "'1-2' is not a valid number/range. It supports numbers from 1 to 1.",
		"0":   "'0' is not a valid number/range. It supports numbers from 1 to 1.",
		"x":   "'stats bind-process' : 'x' is not a valid number/range.",
	} {
		_, err := Parse("t.cfg", []byte("global\n    stats bind-process "+v+"\n"+quietFrontend), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("stats bind-process %s: %v, want %q", v, err, want)
		}
	}
}

// quietFrontend makes a global-only test configuration valid without warnings.
const quietFrontend = `defaults
    mode http
    timeout client 1s
    timeout server 1s
    timeout connect 1s
frontend f
    bind :8080
`
