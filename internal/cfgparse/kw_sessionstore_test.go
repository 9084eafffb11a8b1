package cfgparse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestSessionStoreParses(t *testing.T) {
	cases := []struct {
		line string
		want config.SessionStore
	}{
		{"session-store redis 127.0.0.1:6379", config.SessionStore{Kind: "redis", Addrs: []string{"127.0.0.1:6379"}}},
		{"session-store redis redis.internal:6380 tls ca-file /etc/ca.pem user edge password env:REDIS_PW db 3 prefix gh:",
			config.SessionStore{Kind: "redis", Addrs: []string{"redis.internal:6380"}, TLS: true, CAFile: "/etc/ca.pem", User: "edge",
				Password: config.SecretRef{Kind: "env", Ref: "REDIS_PW"}, DB: 3, Prefix: "gh:"}},
		{"session-store redis sentinel mymaster 10.0.0.1:26379 10.0.0.2:26379 10.0.0.3:26379 password file:/run/pw",
			config.SessionStore{Kind: "redis", Master: "mymaster", Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
				Password: config.SecretRef{Kind: "file", Ref: "/run/pw"}}},
		{"session-store redis cluster [::1]:7000 [::1]:7001 tls",
			config.SessionStore{Kind: "redis", Cluster: true, Addrs: []string{"[::1]:7000", "[::1]:7001"}, TLS: true}},
	}
	for _, c := range cases {
		src := strings.Replace(identityBase, "    redirect-uri", "    "+c.line+"\n    redirect-uri", 1)
		cfg, err := Parse("gh.cfg", []byte(src), Options{LookupEnv: testEnv})
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		got := cfg.Identity.FindOIDC("corp").SessionStore
		if got == nil {
			t.Fatalf("%s: no store", c.line)
		}
		if got.Pos.Line != 6 {
			t.Errorf("%s: pos %v", c.line, got.Pos)
		}
		got.Pos, got.Password.Pos = config.Pos{}, config.Pos{}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.line, *got, c.want)
		}
	}
	// Without the keyword, sessions stay in the cookies.
	cfg, err := Parse("gh.cfg", []byte(identityBase), Options{LookupEnv: testEnv})
	if err != nil || cfg.Identity.FindOIDC("corp").SessionStore != nil {
		t.Fatalf("default: %v %+v", err, cfg.Identity.FindOIDC("corp").SessionStore)
	}
}

func TestSessionStoreErrors(t *testing.T) {
	cases := []struct{ line, want string }{
		{"session-store memcached 127.0.0.1:11211", "'session-store' expects 'redis' followed by an address (the only store kind)."},
		{"session-store redis", "'session-store redis' expects at least one <host>:<port> address."},
		{"session-store redis 127.0.0.1", "'session-store' : invalid address '127.0.0.1' (want <host>:<port>)."},
		{"session-store redis 127.0.0.1:0", "'session-store' : invalid address '127.0.0.1:0' (want <host>:<port>)."},
		{"session-store redis a:1 b:2", "'session-store redis' takes one address; use 'sentinel <master> <addr>...' or 'cluster <addr>...' for several."},
		{"session-store redis sentinel", "'session-store redis sentinel' expects the name of the primary, then the sentinels' addresses."},
		{"session-store redis sentinel mymaster", "'session-store redis sentinel' expects at least one <host>:<port> address."},
		{"session-store redis cluster tls", "'session-store redis cluster' expects at least one <host>:<port> address."},
		{"session-store redis a:1 password hunter2", "'session-store' : password: secrets must be given as 'file:<path>' or 'env:<NAME>'; an inline secret is refused."},
		{"session-store redis a:1 db x", "'session-store' : 'db' expects a database number, not 'x'."},
		{"session-store redis a:1 db", "'session-store' : 'db' expects an argument."},
		{"session-store redis a:1 ca-file /ca.pem", "'session-store' : 'ca-file' needs 'tls'."},
		{"session-store redis cluster a:1 db 2", "'session-store' : a cluster has only database 0; 'db' cannot be used with 'cluster'."},
		{"session-store redis a:1 tsl", "'session-store' : unknown option 'tsl' (expected tls, ca-file, user, password, db or prefix)."},
		{"session-store redis a:1\n    session-store redis b:2", "'session-store' is already set for this section."},
	}
	for _, c := range cases {
		src := strings.Replace(identityBase, "    redirect-uri", "    "+c.line+"\n    redirect-uri", 1)
		_, err := Parse("gh.cfg", []byte(src), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.line, err, c.want)
		}
	}
}
