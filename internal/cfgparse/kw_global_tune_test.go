package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestSockBufKeywords: tune.{rcv,snd}buf.{client,server} read as HAProxy
// 2.6 reads them (atol: "4k" is 4, "x" is 0), with its errors.
func TestSockBufKeywords(t *testing.T) {
	cfg, err := parseProcess(t, "    tune.rcvbuf.client 8192\n    tune.sndbuf.client 4k\n    tune.rcvbuf.server x\n    tune.rcvbuf.server 100\n    tune.sndbuf.server 20480\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := config.SockBufs{ClientRcv: 8192, ClientSnd: 4, ServerRcv: 100, ServerSnd: 20480}
	if cfg.Global.SockBuf != want {
		t.Errorf("SockBuf %+v, want %+v", cfg.Global.SockBuf, want)
	}
	// A second non-zero line: HAProxy's alert, not fatal, the first kept.
	cfg, err = parseProcess(t, "    tune.sndbuf.client 1\n    tune.sndbuf.client 2\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.SockBuf.ClientSnd != 1 || len(cfg.Warnings) == 0 || cfg.Warnings[len(cfg.Warnings)-1].Severity() != "ALERT" ||
		!strings.Contains(cfg.Warnings[len(cfg.Warnings)-1].Msg, "'tune.sndbuf.client' already specified. Continuing.") {
		t.Errorf("duplicate: ClientSnd %d, warnings %v", cfg.Global.SockBuf.ClientSnd, cfg.Warnings)
	}
	for _, c := range []struct{ global, want string }{
		{"tune.rcvbuf.client", "'tune.rcvbuf.client' expects an integer argument."},
		{"tune.sndbuf.server 1 2", "'tune.sndbuf.server' cannot handle unexpected argument '2'."},
	} {
		_, err := parseProcess(t, "    "+c.global+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.global, err, c.want)
		}
	}
}

// TestLogURILenKeyword: tune.http.logurilen read with atol, the last line
// winning, as HAProxy 2.6; below -1 refused.
func TestLogURILenKeyword(t *testing.T) {
	cfg, err := parseProcess(t, "    tune.http.logurilen 10\n    tune.http.logurilen 2048x\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.Global.TuneLogURILen; n == nil || *n != 2048 {
		t.Errorf("TuneLogURILen %v, want 2048", n)
	}
	for _, c := range []struct{ global, want string }{
		{"tune.http.logurilen", "'tune.http.logurilen' expects an integer argument."},
		{"tune.http.logurilen 1 2", "'tune.http.logurilen' cannot handle unexpected argument '2'."},
		{"tune.http.logurilen -2", "'tune.http.logurilen' expects a positive integer, got '-2'."},
	} {
		_, err := parseProcess(t, "    "+c.global+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.global, err, c.want)
		}
	}
}

// TestCookieLenKeyword: "capture cookie ... len" is cut to 63, or to
// tune.http.cookielen wherever it is set, with HAProxy's warning.
func TestCookieLenKeyword(t *testing.T) {
	for _, c := range []struct {
		global string
		len    int
		warn   string
	}{
		{"", 63, "truncating capture length to 63 bytes for frontend 'fe'."},
		{"    tune.http.cookielen 200\n", 100, ""},
		{"    tune.http.cookielen 10\n", 10, "truncating capture length to 10 bytes for frontend 'fe'."},
	} {
		src := "global\n" + c.global + "frontend fe\n    mode http\n    bind :8080\n    capture cookie SID len 100\n    timeout client 5s\n    http-request return status 200\n"
		cfg, err := Parse("c.cfg", []byte(src), Options{LookupEnv: testEnv})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Proxies[0].CaptureCookie.Len; got != c.len {
			t.Errorf("%q: len %d, want %d", c.global, got, c.len)
		}
		var warn string
		for _, w := range cfg.Warnings {
			if strings.Contains(w.Msg, "capture length") {
				warn = w.Msg
			}
		}
		if warn != c.warn {
			t.Errorf("%q: warning %q, want %q", c.global, warn, c.warn)
		}
	}
}

// TestPipeSizeKeyword: tune.pipesize read with atol as HAProxy 2.6, the
// last line winning.
func TestPipeSizeKeyword(t *testing.T) {
	cfg, err := parseProcess(t, "    tune.pipesize 1\n    tune.pipesize 262144\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.TunePipeSize != 262144 {
		t.Errorf("TunePipeSize %d, want 262144", cfg.Global.TunePipeSize)
	}
	for _, c := range []struct{ global, want string }{
		{"tune.pipesize", "'tune.pipesize' expects an integer argument."},
		{"tune.pipesize 1 2", "'tune.pipesize' cannot handle unexpected argument '2'."},
	} {
		_, err := parseProcess(t, "    "+c.global+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.global, err, c.want)
		}
	}
}
