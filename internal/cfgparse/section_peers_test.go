package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

const peersFrontend = `
frontend f
    mode http
    bind :8080
    timeout client 1s
    http-request track-sc0 src table mesh/t
backend b
    stick-table type string len 40 size 1k expire 30s peers mesh store http_req_rate(10s)
`

func TestPeersSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`global
    localpeer gh1
peers mesh
    peer gh1 127.0.0.1:10001
    peer hap ${PEERHOST}:10002
    table t type ip size 100 expire 1m store gpc0,http_req_rate(10s)
peers other
    bind :10003
    default-bind
    default-server
    server gh1
    server hap2 [::1]:10004
    disabled
`+peersFrontend), Options{LookupEnv: func(k string) (string, bool) {
		if k == "PEERHOST" {
			return "127.0.0.2", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalPeer != "gh1" || len(c.Peers) != 2 {
		t.Fatalf("local %q, %d sections", c.LocalPeer, len(c.Peers))
	}
	m := c.Peers[0]
	if m.Bind != "127.0.0.1:10001" || len(m.Peers) != 2 || m.Peers[1].Addr != "127.0.0.2:10002" {
		t.Fatalf("mesh: bind %q peers %+v", m.Bind, m.Peers)
	}
	if len(m.Tables) != 1 || m.Tables[0].Name != "mesh/t" || m.Tables[0].Peers != "mesh" || len(m.Tables[0].Store) != 2 {
		t.Fatalf("mesh tables %+v", m.Tables)
	}
	o := c.Peers[1]
	if !o.Disabled || o.Bind != ":10003" || o.Peers[1].Addr != "[::1]:10004" {
		t.Fatalf("other: %+v", o)
	}
	st := c.Proxies[1].StickTable
	if st.Peers != "mesh" || !st.KeyLenSet || st.KeyLen != 40 {
		t.Fatalf("backend table %+v", st)
	}
}

// -L wins over localpeer, with HAProxy's warning; a section without the
// local peer is removed with HAProxy's warning.
func TestPeersLocalName(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`global
    localpeer gh1
peers mesh
    peer gh1 127.0.0.1:10001
    peer gh2 127.0.0.1:10002
    table t type ip size 10
`+peersFrontend), Options{LocalPeer: "gh2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalPeer != "gh2" || c.Peers[0].Bind != "127.0.0.1:10002" {
		t.Fatalf("local %q bind %q", c.LocalPeer, c.Peers[0].Bind)
	}
	if !hasWarning(c.Warnings, "'localpeer' ignored: the local peer name was set on the command line (-L gh2).") {
		t.Errorf("warnings %v", c.Warnings)
	}
	c, err = Parse("t.cfg", []byte(`peers mesh
    peer a 127.0.0.1:10001
    table t type ip size 10
global
    localpeer zz
`+peersFrontend), Options{LocalPeer: ""})
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(c.Warnings, "'localpeer' ignored: it must come before the 'peers' sections.") ||
		!hasWarning(c.Warnings, "Removing incomplete section 'peers mesh' (no peer named '") || !c.Peers[0].Disabled {
		t.Errorf("warnings %v disabled %v", c.Warnings, c.Peers[0].Disabled)
	}
}

func hasWarning(ws []config.Diag, s string) bool {
	for _, w := range ws {
		if strings.Contains(w.Msg, s) {
			return true
		}
	}
	return false
}

func TestPeersErrors(t *testing.T) {
	cases := map[string]string{
		"peers mesh\n    peer a 127.0.0.1:1\n    bind :2\n":            `mixing "peer" and "bind" line is forbidden`,
		"peers mesh\n    bind :2\n    peer a 127.0.0.1:1\n":            `mixing "peer" and "bind" line is forbidden`,
		"peers mesh\n    bind :2\n    bind :3\n":                       `One listener per "peers" section is authorized`,
		"peers mesh\n    peer a\n":                                     "'peer a' : missing address.",
		"peers mesh\n    peer a 127.0.0.1:1\n    peer a 127.0.0.1:2\n": "peer name already declared",
		"peers mesh\n    server a 127.0.0.1:1 ssl check\n":             "parameter 'check' is not supported for peers",
		"peers mesh\n    peer a 127.0.0.1:1 verify maybe\n":            "verify",
		"peers mesh\n    default-server ssl verify none weight 3\n":    "parameter 'weight' is not supported for peers",
		"peers mesh\n    bind :1 ssl crt x.pem accept-proxy\n":         "parameter 'accept-proxy' is not supported for peers",
		"peers mesh\n    default-bind v4v6\n":                          "parameter 'v4v6' is not supported for peers",
		"peers mesh\n    shards 3\n":                                   "unknown keyword 'shards' in 'peers' section",
		"peers mesh\n    log 127.0.0.1 local0\n":                       "log",
		"peers mesh\n    table t type ip size 1 peers x\n":             "'table': unknown argument 'peers'",
		"peers mesh\npeers mesh\n":                                     "peers section 'mesh' has the same name",
		"peers mesh\n    server b\n    server a 127.0.0.1:1\n":         "'server b' : missing address",
		"backend b\n    stick-table type ip size 1 peers nope\n":       "unable to find sync peers 'nope'",
		"peers\n": "missing name for peers section.",
		"frontend f2\n    bind :9\n    http-request track-sc0 src table mesh/none\n": "unable to find table 'mesh/none'",
		"peers mesh\n    table t type ip size 1\n    table t type ip size 1\n":       "conflicts with table declared in peers 'mesh'",
	}
	for cfg, want := range cases {
		_, err := Parse("t.cfg", []byte("global\n    localpeer a\n"+cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", cfg, err, want)
		}
	}
}

// TLS between peers: bind and default-bind make one listener
// configuration, default-server is the template of every peer line.
func TestPeersTLSParameters(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`global
    localpeer a
    ca-base /ca
    crt-base /crt
peers mesh
    default-bind ssl-min-ver TLSv1.2
    bind 127.0.0.1:10001 ssl crt a.pem ca-file ca.pem ca-verify-file root.pem no-ca-names verify required
    default-server ssl verify required ca-file ca.pem crt client.pem
    server a
    server b 127.0.0.1:10002 verifyhost peer-b.example.com
    server c 127.0.0.1:10003 verify none
    table t type ip size 10
`+peersFrontend), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Peers[0]
	b := m.BindConf
	if b == nil || !b.SSL || len(b.Crts) != 1 || b.Crts[0] != "/crt/a.pem" || b.Verify != "required" || b.TLS.MinVer == 0 ||
		b.CAVerifyFile != "/ca/root.pem" || !b.NoCANames {
		t.Fatalf("bind conf %+v", b)
	}
	pb, pc := m.Peers[1].Server, m.Peers[2].Server
	if !pb.SSL || pb.Verify != "required" || pb.CAFile != "/ca/ca.pem" || pb.Crt != "/crt/client.pem" || pb.VerifyHost != "peer-b.example.com" {
		t.Errorf("peer b: %+v", pb)
	}
	if !pc.SSL || pc.Verify != "none" {
		t.Errorf("peer c: %+v", pc)
	}
}
