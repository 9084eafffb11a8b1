package stick

import (
	"bufio"
	"regexp"
	"strings"
	"testing"
)

// A stick rule's table gets server_id and server_key; an entry stores the
// server that served its key, a later store moves it, and show table
// prints both as HAProxy 2.6 does ("server_key=-" for none).
func TestStoreServer(t *testing.T) {
	cfg := Config{Name: "be", Type: KeyString, KeyLen: 32, Size: 10, Expire: 60000 * 1e6, Store: []Store{{Type: GPC0}}}
	cfg.EnableServer()
	cfg.EnableServer() // idempotent
	tb, clk := newTable(t, cfg)
	if !tb.Has(ServerID) || !tb.Has(ServerKey) || len(tb.Config().Store) != 3 {
		t.Fatalf("stored types: %+v", tb.Config().Store)
	}
	if _, _, found := tb.Server("u1"); found {
		t.Fatal("found an entry in an empty table")
	}
	if err := tb.StoreServer("u1", 2, "s2"); err != nil {
		t.Fatal(err)
	}
	id, sk, found := tb.Server("u1")
	if !found || id != 2 || sk != "s2" {
		t.Fatalf("u1: id %d key %q found %v", id, sk, found)
	}
	// Read at 30s: the match refreshed the expiry.
	clk.ms += 30000
	tb.Server("u1")
	clk.ms += 40000
	if _, _, found := tb.Server("u1"); !found {
		t.Fatal("a matched entry expired from its first use")
	}
	if err := tb.StoreServer("u1", 1, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := tb.StoreServer("u3", 1, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := tb.Set("u2", map[DataType]uint64{GPC0: 4, ServerKey: 9}); err != nil {
		t.Fatal(err)
	}
	if len(tb.skeys) != 2 {
		t.Errorf("server keys %q: one per server", tb.skeys)
	}
	var b strings.Builder
	w := bufio.NewWriter(&b)
	tb.Dump(w, "")
	w.Flush()
	got := regexp.MustCompile(`(?m)^0x[0-9a-f]+: `).ReplaceAllString(b.String(), "")
	want := "key=u1 use=0 exp=60000 server_id=1 gpc0=0 server_key=s1\n" +
		"key=u2 use=0 exp=60000 server_id=0 gpc0=4 server_key=-\n" +
		"key=u3 use=0 exp=60000 server_id=1 gpc0=0 server_key=s1\n"
	if got != want {
		t.Errorf("dump:\n%s\nwant:\n%s", got, want)
	}
}

// A stream inheriting its session's tracking counts on the session's
// entries, keeps its own slots apart, and its Release leaves the
// session's entries tracked (conn_cur stays until the session ends).
func TestInherit(t *testing.T) {
	tb, _ := newTable(t, Config{Name: "fe", Type: KeyString, KeyLen: 32, Size: 10, Store: []Store{{Type: ConnCur}, {Type: ConnCnt}, {Type: HTTPReqCnt}}})
	var sess, stream Tracker
	if !sess.Track(0, tb, "s", false) {
		t.Fatal("session track refused")
	}
	for i := 0; i < 2; i++ {
		stream.Inherit(&sess)
		stream.CountRequest()
		if stream.Track(0, tb, "other", true) {
			t.Fatal("a stream tracked a slot its session holds")
		}
		stream.Track(1, tb, "mine", true)
		stream.Release()
	}
	if v, _ := sess.Get(0, HTTPReqCnt); v != 2 {
		t.Errorf("session entry http_req_cnt %d, want 2", v)
	}
	if v, _ := sess.Get(0, ConnCur); v != 1 {
		t.Errorf("session entry conn_cur %d after the streams, want 1", v)
	}
	if v, _ := tb.Lookup("mine", ConnCnt); v != 2 {
		t.Errorf("stream entry conn_cnt %d, want 2", v)
	}
	if _, ok := stream.Tracking(0); ok {
		t.Error("a released stream still tracks the inherited slot")
	}
	sess.Release()
	if v, _ := tb.Lookup("s", ConnCur); v != 0 {
		t.Errorf("conn_cur %d after the session, want 0", v)
	}
}
