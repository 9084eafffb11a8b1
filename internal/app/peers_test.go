package app

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

func peersReloadConfig(fe, peer int) string {
	return `global
    localpeer me
peers mesh
    peer me 127.0.0.1:` + fmt.Sprint(peer) + `
    table t type ip size 10 expire 1m store http_req_cnt
` + testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 10 expire 1m peers mesh store http_req_cnt,conn_cur
    http-request track-sc0 src
    http-request track-sc1 src table mesh/t
    http-request track-sc2 src table other
    http-request return status 200
backend other
    stick-table type ip size 10 store http_req_cnt
`, fe)
}

func tableCount(g *Graph, name string) uint64 {
	for _, t := range g.StickTables {
		if t.Name() == name {
			k, _ := t.ParseKeyText("127.0.0.1")
			v, _ := t.Lookup(k, stick.HTTPReqCnt)
			return v
		}
	}
	return 999
}

// A reload keeps the tables shared with peers (in process: no lesson is
// asked) and starts the others empty, as HAProxy does; the peers
// listener goes on answering on the same socket.
func TestReloadKeepsSharedTables(t *testing.T) {
	fe, peer := freePort(t), freePort(t)
	cfg := peersReloadConfig(fe, peer)
	rt := start(t, cfg)
	for i := 0; i < 3; i++ {
		rawExchange(t, fmt.Sprintf("127.0.0.1:%d", fe), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	}
	g := rt.Graph()
	for _, n := range []string{"fe", "mesh/t", "other"} {
		if v := tableCount(g, n); v != 3 {
			t.Fatalf("before the reload %s counts %d", n, v)
		}
	}
	c, err := parseText(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(ng); err != nil {
		t.Fatal(err)
	}
	if v := tableCount(ng, "fe"); v != 3 {
		t.Errorf("after the reload fe counts %d, want 3 (shared with peers)", v)
	}
	if v := tableCount(ng, "mesh/t"); v != 3 {
		t.Errorf("after the reload mesh/t counts %d, want 3", v)
	}
	if v := tableCount(ng, "other"); v != 999 && v != 0 {
		t.Errorf("after the reload the unshared table counts %d, want 0", v)
	}
	var sb strings.Builder
	(&graphTarget{ops: &adminOps{g: ng}}).ShowPeers(&sb, "")
	if !strings.Contains(sb.String(), "flags=0x3 ") {
		t.Errorf("the reloaded section asks for a lesson:\n%s", sb.String())
	}
	// The listener survived: a stranger gets HAProxy's 504.
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", peer), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "HAProxyS 2.1\nme\nstranger 1 1\n")
	if line, _ := bufio.NewReader(conn).ReadString('\n'); line != "504\n" {
		t.Errorf("peers listener after the reload answered %q", line)
	}
}

// A reload that changes a shared table's data types starts it empty, and
// the section then asks its peers for a lesson instead of calling itself
// synchronised.
func TestReloadChangedSharedTableAsksLesson(t *testing.T) {
	fe, peer := freePort(t), freePort(t)
	cfg := peersReloadConfig(fe, peer)
	rt := start(t, cfg)
	rawExchange(t, fmt.Sprintf("127.0.0.1:%d", fe), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c, err := parseText(strings.Replace(cfg, "store http_req_cnt,conn_cur", "store http_req_cnt,conn_cur,gpc0", 1))
	if err != nil {
		t.Fatal(err)
	}
	ng, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(ng); err != nil {
		t.Fatal(err)
	}
	if v := tableCount(ng, "fe"); v != 999 && v != 0 {
		t.Errorf("the changed table kept %d", v)
	}
	if v := tableCount(ng, "mesh/t"); v != 1 {
		t.Errorf("the unchanged table counts %d, want 1", v)
	}
	var sb strings.Builder
	(&graphTarget{ops: &adminOps{g: ng}}).ShowPeers(&sb, "")
	if strings.Contains(sb.String(), "flags=0x3 ") {
		t.Errorf("a section with a changed table calls itself synchronised:\n%s", sb.String())
	}
}
