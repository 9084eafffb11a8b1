package cfgparse

import (
	"strings"
	"testing"
	"time"
)

func TestGlobalStatsKeywords(t *testing.T) {
	cfg := `global
    stats timeout 2m
    stats maxconn 3
    stats socket /run/a.sock
    stats socket unix@/run/b.sock level admin mode 660 uid 7 group staff
    stats socket ipv4@127.0.0.1:9999 level user
    stats socket [::1]:9998
`
	opt := Options{LookupGroup: func(n string) (int, error) { return map[string]int{"staff": 50}[n], nil }}
	c, err := Parse("t.cfg", []byte(cfg), opt)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Global
	if g.StatsTimeout != 2*time.Minute || g.StatsMaxConn != 3 {
		t.Errorf("timeout %v maxconn %d", g.StatsTimeout, g.StatsMaxConn)
	}
	if len(g.StatsSockets) != 4 {
		t.Fatalf("%d sockets, want 4", len(g.StatsSockets))
	}
	a, b, v4, v6 := g.StatsSockets[0], g.StatsSockets[1], g.StatsSockets[2], g.StatsSockets[3]
	if a.Path != "/run/a.sock" || a.Net != "" || a.Level != "operator" || a.UID != nil || a.GID != nil {
		t.Errorf("a: %+v (want operator, HAProxy's default level)", a)
	}
	if b.Path != "/run/b.sock" || b.Level != "admin" || b.Mode != 0o660 || b.UID == nil || *b.UID != 7 || b.GID == nil || *b.GID != 50 {
		t.Errorf("b: %+v", b)
	}
	if v4.Net != "tcp4" || v4.Path != "127.0.0.1:9999" || v4.Level != "user" {
		t.Errorf("ipv4@: %+v", v4)
	}
	if v6.Net != "tcp" || v6.Path != "[::1]:9998" {
		t.Errorf("[::1]:9998: %+v", v6)
	}
}

func TestStatsPageKeywords(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`listen s
    bind :8080
    stats show-node lb-1
    stats show-desc EU edge
    stats scope .
    stats scope be
    stats scope be
    stats http-request auth realm Ops if { src 10.0.0.0/8 }
    stats http-request deny
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Proxies[0].Stats
	if !s.ShowNode || s.Node != "lb-1" || !s.ShowDesc || s.Desc != "EU edge" || len(s.Scope) != 2 || s.Scope[0] != "." || s.Scope[1] != "be" {
		t.Errorf("stats %+v", s)
	}
	if len(s.Rules) != 2 || s.Rules[0].Action != "auth" || s.Rules[0].Realm != "Ops" || s.Rules[0].Cond == nil || s.Rules[1].Action != "deny" || s.Rules[1].Cond != nil {
		t.Errorf("rules %+v", s.Rules)
	}
	for cfg, want := range map[string]string{
		"stats show-node a/b":         "invalid node name",
		"stats http-request redirect": "only supports 'allow', 'deny' and 'auth'",
		"stats scope":                 "'scope' needs a proxy name.",
	} {
		_, err := Parse("t.cfg", []byte("listen s\n    bind :8080\n    "+cfg+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cfg, err, want)
		}
	}
	// show-desc without text or global description: HAProxy warns and
	// ignores the line.
	c, err = Parse("t.cfg", []byte("listen s\n    bind :8080\n    stats show-desc\n"), Options{})
	if err != nil || c.Proxies[0].Stats != nil && c.Proxies[0].Stats.ShowDesc || len(c.Warnings) != 2 {
		t.Errorf("bare show-desc: %v %+v", err, c.Warnings)
	}
	// An unconditional rule makes the next ones dead, with HAProxy's warning.
	c, err = Parse("t.cfg", []byte("listen s\n    bind :8080\n    stats http-request allow\n    stats http-request deny\n"), Options{})
	if err != nil || len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0].Error(), "further entries are NOOP") {
		t.Errorf("rule after an unconditional one: %v %+v", err, c.Warnings)
	}
}
