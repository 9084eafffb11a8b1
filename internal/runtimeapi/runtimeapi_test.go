package runtimeapi

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitCommands(t *testing.T) {
	tests := []struct {
		line string
		want [][]string
	}{
		{"", nil},
		{"show info", [][]string{{"show", "info"}}},
		{"  show   stat\ttyped ", [][]string{{"show", "stat", "typed"}}},
		{"show info;show stat", [][]string{{"show", "info"}, {"show", "stat"}}},
		{`set server a\;b/s state ready`, [][]string{{"set", "server", "a;b/s", "state", "ready"}}},
		{`a\ b`, [][]string{{"a b"}}},
		{";;", [][]string{nil, nil}},
	}
	for _, tc := range tests {
		if got := splitCommands(tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitCommands(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want Level
		err  bool
	}{
		{"", LevelOperator, false}, {"user", LevelUser, false}, {"operator", LevelOperator, false},
		{"admin", LevelAdmin, false}, {"root", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseLevel(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestWriteServersState(t *testing.T) {
	now := time.Unix(1000, 0)
	var b strings.Builder
	w := bufio.NewWriter(&b)
	WriteServersState(w, []ServerState{
		{BackendID: 3, Backend: "be", ID: 1, Name: "gw1", Addr: "10.0.0.1", Port: 443, OpState: 2, UWeight: 1, IWeight: 1,
			LastChange: now.Add(-29 * time.Second), CheckStatus: 15, CheckResult: 3, CheckHealth: 4,
			CheckState: ChkConfigured | ChkEnabled, FQDN: "gw.mesh", UseSSL: true},
		{BackendID: 3, Backend: "be", ID: 2, Name: "gw2", OpState: 0, AdminState: AdmForcedMaint, UWeight: 1, IWeight: 1},
	}, now)
	w.Flush()
	want := "1\n" + ServersStateHeader + "\n" +
		"3 be 1 gw1 10.0.0.1 2 0 1 1 29 15 3 4 6 0 0 0 gw.mesh 443 - 1 0 - - 0\n" +
		"3 be 2 gw2 - 0 1 1 1 0 0 0 0 0 0 0 0 - 0 - 0 0 - - 0\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCheckStatusCode(t *testing.T) {
	for _, tc := range []struct {
		s            string
		code, result int
	}{{"INI", 1, 0}, {"L4OK", 6, 3}, {"L4CON", 8, 2}, {"L7OK", 15, 3}, {"L7OKC", 16, 4}, {"L7STS", 17, 2}} {
		if c, r := CheckStatusCode(tc.s); c != tc.code || r != tc.result {
			t.Errorf("CheckStatusCode(%s) = %d,%d want %d,%d", tc.s, c, r, tc.code, tc.result)
		}
	}
}
