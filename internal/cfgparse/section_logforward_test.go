package cfgparse

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLogForwardSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`global
    log 127.0.0.1:514 local0
log-forward lf
    dgram-bind 127.0.0.1:1514
    bind 127.0.0.1:1514
    maxconn 20
    timeout client 30s
    log global
    log 127.0.0.1:10001 format rfc5424 local1 info
    log 127.0.0.1:10002 local2
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.LogForwards) != 1 {
		t.Fatalf("%+v", c.LogForwards)
	}
	lf := c.LogForwards[0]
	if lf.Name != "lf" || !slices.Equal(lf.Binds, []string{"127.0.0.1:1514"}) || !slices.Equal(lf.DgramBinds, []string{"127.0.0.1:1514"}) ||
		lf.MaxConn != 20 || lf.TimeoutClient != 30*time.Second || len(lf.Logs) != 3 {
		t.Fatalf("%+v", lf)
	}
	// "log global" brings the global target first; only the line with
	// "format" forces one, the others keep the received format.
	if lf.Logs[0].Target != "127.0.0.1:514" || lf.Logs[1].Format != "rfc5424" || !lf.Logs[1].FormatSet || lf.Logs[2].FormatSet {
		t.Errorf("logs: %+v %+v %+v", lf.Logs[0], lf.Logs[1], lf.Logs[2])
	}
}

func TestLogForwardErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"log-forward\n", "missing name for ip-forward section"},
		{"log-forward lf\n    log 127.0.0.1 local0\n", "has no 'bind' nor 'dgram-bind' line"},
		{"log-forward lf\n    bind 127.0.0.1:1514 ssl\n", "option 'ssl' is not supported in a log-forward section"},
		{"log-forward lf\n    dgram-bind 127.0.0.1\n", "missing port number"},
		{"log-forward lf\n    bind :1514\n    maxconn 0\n", "positive integer"},
		{"log-forward lf\n    bind :1514\n    timeout server 1s\n", "'timeout' expects 'client'"},
		{"log-forward lf\n    bind :1514\n    backlog 10\n", "backlog"},
		{"log-forward lf\n    bind :1514\n    log ring@none local0\n", "log-forward 'lf' log server uses unknown ring named 'none'"},
		{"log-forward lf\n    bind :1514\nlog-forward lf\n    bind :1515\n", "has the same name as another log-forward section"},
	} {
		_, err := Parse("t.cfg", []byte(tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
