package app

import "testing"

// TestPersistenceSeesTheProxysACLEnvironment: the persistence rules
// (use-server, force-persist) compile with the proxy's ACL environment,
// so a backend whose ACLs read a userlist or a map builds, in both modes;
// they were compiled without it and every such backend failed with
// "userlists cannot be used here".
func TestPersistenceSeesTheProxysACLEnvironment(t *testing.T) {
	for _, mode := range []string{"http", "tcp"} {
		cfg := `userlist admins
    user alice insecure-password secret

defaults
    mode ` + mode + `
    timeout connect 1s
    timeout client 1s
    timeout server 1s

frontend fe
    bind 127.0.0.1:1
    default_backend be

backend be
    acl authed http_auth(admins)
    force-persist if authed
    use-server s1 if authed
    server s1 127.0.0.1:1
`
		if mode == "tcp" {
			cfg = `defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s

frontend fe
    bind 127.0.0.1:1
    default_backend be

backend be
    acl local src,map_ip(/dev/null,no) -m str yes
    use-server s1 if local
    server s1 127.0.0.1:1
`
		}
		c, err := parseText(cfg)
		if err != nil {
			t.Fatalf("%s: parse: %v", mode, err)
		}
		if _, err := Build(c, "test"); err != nil {
			t.Errorf("%s: build: %v", mode, err)
		}
	}
}

// TestTableConvertersNameExistingTables: a table converter naming a table
// that does not exist is a configuration error (HAProxy's), in an ACL, a
// rule's expression and a format alike: "deny if { src,in_table(typo) }"
// must not load and then never deny.
func TestTableConvertersNameExistingTables(t *testing.T) {
	base := `defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s

backend st
    stick-table type ip size 1k expire 10s store http_req_cnt

frontend fe
    bind 127.0.0.1:1
`
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"    http-request deny if { src,in_table(st) }", true},
		{"    http-request deny if { src,in_table(typo) }", false},
		{"    http-request set-header X %[src,table_http_req_cnt(typo)]", false},
		{"    http-request set-header X %[src,table_http_req_cnt(st)]", true},
		{"    acl abuser src,table_http_req_cnt(nosuch) gt 10\n    http-request deny if abuser", false},
	} {
		c, err := parseText(base + tc.line + "\n    http-request return status 200\n")
		if err != nil {
			t.Fatalf("%q: parse: %v", tc.line, err)
		}
		_, err = Build(c, "test")
		if (err == nil) != tc.ok {
			t.Errorf("%q: build error %v, want ok=%v", tc.line, err, tc.ok)
		}
	}
}
