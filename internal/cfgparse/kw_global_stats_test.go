package cfgparse

import (
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
