package cfgparse

import (
	"strings"
	"testing"
	"time"
)

func TestMailersSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`mailers mta
    mailer smtp1 127.0.0.1:2525
    mailer smtp2 [::1]:25
    timeout mail 20s
defaults
    timeout client 1s
    timeout server 1s
    timeout connect 1s
    email-alert mailers mta
    email-alert from gh@example.com
    email-alert to ops@example.com
backend b
    email-alert level notice
    email-alert myhostname edge1
    server s 127.0.0.1:8080 check
frontend f
    bind :8080
    default_backend b
defaults
    timeout client 1s
    timeout server 1s
    timeout connect 1s
backend half
    email-alert mailers mta
    email-alert from "a@b"
    server s 127.0.0.1:8080 check
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Mailers) != 1 || c.Mailers[0].Name != "mta" || c.Mailers[0].TimeoutMail != 20*time.Second ||
		len(c.Mailers[0].Mailers) != 2 || c.Mailers[0].Mailers[0].Addr != "127.0.0.1:2525" || c.Mailers[0].Mailers[1].Addr != "[::1]:25" {
		t.Fatalf("mailers: %+v", c.Mailers)
	}
	byName := map[string]int{}
	for i, p := range c.Proxies {
		byName[p.Name] = i
	}
	ea := c.Proxies[byName["b"]].EmailAlert
	if ea == nil || ea.Mailers != "mta" || ea.From != "gh@example.com" || ea.To != "ops@example.com" || ea.Level != "notice" || ea.MyHostname != "edge1" {
		t.Errorf("b's email-alert: %+v", ea)
	}
	// The frontend inherits the defaults' lines, a backend without
	// "to" is ignored with HAProxy's warning.
	if ea := c.Proxies[byName["f"]].EmailAlert; ea == nil || ea.Level != "" {
		t.Errorf("f's email-alert: %+v", ea)
	}
	if ea := c.Proxies[byName["half"]].EmailAlert; ea != nil {
		t.Errorf("half's email-alert kept: %+v", ea)
	}
	var warns []string
	for _, w := range c.Warnings {
		warns = append(warns, w.Error())
	}
	if all := strings.Join(warns, "\n"); !strings.Contains(all, "'email-alert' will be ignored for backend 'half'") {
		t.Errorf("warnings: %s", all)
	}
}

func TestMailersErrors(t *testing.T) {
	const px = "\nbackend b\n    server s 127.0.0.1:1\n    email-alert mailers mta\n    email-alert from a@b\n    email-alert to c@d\n"
	for _, tc := range []struct{ cfg, want string }{
		{"mailers mta\n    mailer m 127.0.0.1\n", "missing port number"},
		{"mailers mta\n    mailer m :25\n", "an address to connect to is required"},
		{"mailers mta\n    mailer m 127.0.0.1:25 extra\n", "cannot handle unexpected argument 'extra'"},
		{"mailers mta\n    mailer m 127.0.0.1:25\n    mailer m 127.0.0.1:26\n", "mailer 'm' has the same name"},
		{"mailers mta\nmailers mta\n", "mailers section 'mta' has the same name"},
		{"mailers mta\n    timeout mail 0\n", "must be greater than 0"},
		{"mailers mta\n    timeout server 1s\n", "'timeout' expects 'mail'"},
		{"mailers other\n" + px, "unable to find mailers 'mta'"},
		{"mailers mta\n" + px + "    email-alert level loud\n", "unknown log level 'loud'"},
		{"mailers mta\n" + px + "    email-alert subject x\n", "email-alert: unknown argument 'subject'"},
		{"mailers mta\n" + px + "    email-alert to \"a@b>\\r\\nRCPT TO:<x@y\"\n", "control characters are not permitted"},
		{"mailers mta\n" + px + "    email-alert myhostname \"a b\"\n", "is not a host name"},
		{"mailers mta\n" + px + "    email-alert from\n", "missing argument after 'email-alert from'"},
	} {
		_, err := Parse("t.cfg", []byte(tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
