package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestProtoCheckOptions: each protocol check option with HAProxy's
// arguments and errors.
func TestProtoCheckOptions(t *testing.T) {
	ok := []struct {
		line string
		want config.ProtoCheck
	}{
		{"option redis-check", config.ProtoCheck{Kind: "redis"}},
		{"option ssl-hello-chk", config.ProtoCheck{Kind: "ssl-hello"}},
		{"option ldap-check", config.ProtoCheck{Kind: "ldap"}},
		{"option smtpchk", config.ProtoCheck{Kind: "smtp", SMTP: "HELO localhost"}},
		{"option smtpchk EHLO mx.example", config.ProtoCheck{Kind: "smtp", SMTP: "EHLO mx.example"}},
		{"option smtpchk FOO mx.example", config.ProtoCheck{Kind: "smtp", SMTP: "HELO localhost"}},
		{"option pgsql-check user gate", config.ProtoCheck{Kind: "pgsql", User: "gate"}},
		{"option mysql-check", config.ProtoCheck{Kind: "mysql"}},
		{"option mysql-check user hc", config.ProtoCheck{Kind: "mysql", User: "hc"}},
		{"option mysql-check user hc post-41", config.ProtoCheck{Kind: "mysql", User: "hc"}},
		{"option mysql-check user hc pre-41", config.ProtoCheck{Kind: "mysql", User: "hc", Pre41: true}},
	}
	const head = "defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:8080\n    default_backend b\n"
	for _, c := range ok {
		cfg, err := Parse("p.cfg", []byte(head+"backend b\n    "+c.line+"\n    server s 127.0.0.1:1 check\n"), Options{LookupEnv: testEnv})
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		got := cfg.Proxies[len(cfg.Proxies)-1].ProtoCheck
		if got == nil {
			t.Errorf("%s: no protocol check", c.line)
			continue
		}
		got.Pos = config.Pos{}
		if *got != c.want {
			t.Errorf("%s: %+v, want %+v", c.line, *got, c.want)
		}
	}
	bad := map[string]string{
		"option redis-check now":            "cannot handle unexpected argument 'now'",
		"no option redis-check":             "negation/default is not supported",
		"option pgsql-check":                "expects 'user <username>' as argument",
		"option pgsql-check role x":         "only supports optional values: 'user'",
		"option mysql-check role x":         "only supports optional values: 'user' (got 'role')",
		"option mysql-check user":           "expects <username> as argument",
		"option mysql-check user hc post-5": "only supports 'post-41' and 'pre-41' (got 'post-5')",
	}
	for line, want := range bad {
		_, err := Parse("p.cfg", []byte(head+"backend b\n    "+line+"\n    server s 127.0.0.1:1 check\n"), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", line, err, want)
		}
	}
}
