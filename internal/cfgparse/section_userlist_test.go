package cfgparse

import (
	"slices"
	"strings"
	"testing"
)

const userlistFrontend = `
frontend f
    mode http
    bind :8080
    timeout client 1s
`

func TestUserlistSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`userlist L
    group admins users alice,,bob
    group ops
    user alice password $6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1 groups ops
    user bob insecure-password secret
    user carl password $1$saltstri$YMyguxXMBpd2TEZ.vS/3q1
    user dave
    user erin password $5$3VeorK1XxvgRseQ$VBkOPCY2enWZsas.C6X9Iif0FPHDknXXXXXXXXX
    user alice insecure-password other
    group ops
userlist M
    user x insecure-password ""
userlist L
    user y insecure-password z
`+userlistFrontend+`    http-request auth realm "Private zone" if !{ http_auth(L) }
    http-request auth if { path /x }
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Userlists) != 2 {
		t.Fatalf("%d userlists", len(c.Userlists))
	}
	l, m := c.Userlists[0], c.Userlists[1]
	if l.Name != "L" || len(l.Groups) != 2 || l.Groups[0].Name != "admins" || !slices.Equal(l.Groups[0].Users, []string{"alice", "bob"}) {
		t.Errorf("L groups: %+v", l.Groups)
	}
	if len(l.Users) != 5 || l.Users[0].Name != "alice" || l.Users[0].Insecure || !slices.Equal(l.Users[0].Groups, []string{"ops"}) ||
		l.Users[1].Password != "secret" || !l.Users[1].Insecure || l.Users[3].Name != "dave" || l.Users[3].Password != "" {
		t.Errorf("L users: %+v", l.Users)
	}
	// HAProxy adds the lines after a duplicated userlist to the last one.
	if len(m.Users) != 2 || m.Users[0].Password != "" || !m.Users[0].Insecure || m.Users[1].Name != "y" {
		t.Errorf("M users: %+v", m.Users)
	}
	var warns []string
	for _, w := range c.Warnings {
		warns = append(warns, w.Error())
	}
	all := strings.Join(warns, "\n")
	for _, want := range []string{
		"t.cfg:6] : user 'carl' in userlist 'L' has an MD5-crypt password ($1$), which is weak",
		"t.cfg:8] : the password hash of user 'erin' in userlist 'L' cannot match any password (SHA-256 crypt: the digest must be 43 characters of [./0-9A-Za-z]); this user cannot log in.",
		"t.cfg:9] : ignoring duplicated user 'alice' in userlist 'L'.",
		"t.cfg:10] : ignoring duplicated group 'ops' in userlist 'L'.",
		"t.cfg:13] : ignoring duplicated userlist 'L'.",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing warning %q in:\n%s", want, all)
		}
	}
	rules := c.Proxies[0].HTTPRequest
	if len(rules) != 2 || rules[0].Action != "auth" || rules[0].Realm != "Private zone" || rules[0].Cond == nil || rules[1].Realm != "" {
		t.Errorf("rules: %+v", rules)
	}
}

func TestUserlistErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"userlist\n", "'userlist' expects a <name> argument."},
		{"userlist a b\n", "'userlist' cannot handle unexpected argument 'b'."},
		{"userlist a/b\n", "character '/' is not permitted in 'userlist' name 'a/b'."},
		{"userlist L\n  group\n", "'group' expects <name> as arguments."},
		{"userlist L\n  group g/h\n", "character '/' is not permitted in 'group' name 'g/h'."},
		{"userlist L\n  group g members a\n", "'group' only supports 'users' option."},
		{"userlist L\n  group g users\n", "'users' expects a comma-separated list"},
		{"userlist L\n  user\n", "'user' expects <name> as arguments."},
		{"userlist L\n  user a pass x\n", "'user' only supports 'password', 'insecure-password' and 'groups' options."},
		{"userlist L\n  user a password\n", "'password' expects an argument."},
		{"userlist L\n  user a password abzlUXK5ed5rs\n", "t.cfg:2] : the encrypted password used for user 'a' is not supported: DES crypt"},
		{"userlist L\n  user a password $y$j9T$abcdefgh$UGYCVcUwcoG0k8SZZ.Uz3i0RYQNy1YmYj4I4poBPer2\n", "yescrypt"},
		{"userlist L\n  user a insecure-password x groups g1,g2\n  group g1\n", "t.cfg:2] : userlist 'L': no such group 'g2' specified in user 'a'"},
		{"userlist L\n  group g users a,b\n  user a\n", "t.cfg:2] : userlist 'L': no such user 'b' specified in group 'g'"},
		{"userlist L\n  usr a\n", "unknown keyword 'usr' in 'userlist' section; did you mean 'user' maybe ?"},
		{userlistFrontend + "    http-request auth realm\n", "'http-request auth' : missing realm value."},
		{userlistFrontend + "    http-request auth realm a b\n", "'http-request auth' : unexpected argument 'b'."},
		{userlistFrontend + "    http-request auth foo\n", "'http-request auth' : expects 'realm' or a condition, got 'foo'."},
		{userlistFrontend + "    http-request auth realm 'a\"b'\n", "the realm cannot contain"},
		{userlistFrontend + "    http-response auth\n", "but got 'auth'"},
	} {
		_, err := Parse("t.cfg", []byte(c.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.cfg, err, c.want)
		}
	}
}
