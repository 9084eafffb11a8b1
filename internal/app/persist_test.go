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
