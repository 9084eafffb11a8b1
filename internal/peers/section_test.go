package peers

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func eventually(t *testing.T, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: "+msg, append([]any{d}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func rateTable(t *testing.T) *stick.Table {
	return testTable(t, stick.Config{Name: "rl", Type: stick.KeyIP, Size: 100, Expire: time.Minute,
		Store: []stick.Store{{Type: stick.HTTPReqRate, Period: 10 * time.Second}, {Type: stick.GPC0}, {Type: stick.ConnCur}}})
}

type node struct {
	s *Section
	t *stick.Table
}

// startNode starts peer name of a section of a and b; opts adjust the
// section before it starts.
func startNode(t *testing.T, name string, addrs map[string]string, tb *stick.Table, synced bool, opts ...func(*Section)) *node {
	t.Helper()
	cfg := Config{Name: "mesh", Local: name, Bind: addrs[name], Synced: synced,
		Tables: []TableConfig{{Table: tb, WireName: "rl"}}, Logf: t.Logf}
	for _, n := range []string{"a", "b"} {
		cfg.Peers = append(cfg.Peers, PeerConfig{Name: n, Addr: addrs[n]})
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(nil); err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(s)
	}
	s.Start()
	return &node{s, tb}
}

func track(t *testing.T, tb *stick.Table, ip string, n int) string {
	k, _ := tb.KeyIPAddr(netip.MustParseAddr(ip))
	for i := 0; i < n; i++ {
		var tr stick.Tracker
		tr.Track(0, tb, k, true)
		tr.IncGPC(0, 0)
		tr.Release()
	}
	return k
}

func value(tb *stick.Table, k string, d stick.DataType) uint64 {
	v, _ := tb.Lookup(k, d)
	return v
}

// Two processes share a table both ways; conn_cur stays local; a process
// that starts again learns everything from the other (resync request,
// timed updates, finished, confirm).
func TestTwoSectionsShareAndResync(t *testing.T) {
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	a := startNode(t, "a", addrs, rateTable(t), false)
	defer a.s.Stop()
	b := startNode(t, "b", addrs, rateTable(t), false)

	k1 := track(t, a.t, "10.0.0.1", 3)
	eventually(t, 10*time.Second, func() bool { return value(b.t, k1, stick.GPC0) == 3 }, "b did not learn a's gpc0 (b has %d)", value(b.t, k1, stick.GPC0))
	if v := value(b.t, k1, stick.HTTPReqRate); v != 3 {
		t.Errorf("b's http_req_rate = %d, want 3", v)
	}
	k2 := track(t, b.t, "10.0.0.2", 2)
	eventually(t, 10*time.Second, func() bool { return value(a.t, k2, stick.GPC0) == 2 }, "a did not learn b's entry")
	// conn_cur is never learned: a tracks and holds a connection.
	var hold stick.Tracker
	hold.Track(0, a.t, k1, true)
	eventually(t, 10*time.Second, func() bool { return value(b.t, k1, stick.HTTPReqRate) == 4 }, "b did not learn the 4th request")
	if v := value(b.t, k1, stick.ConnCur); v != 0 {
		t.Errorf("b learned conn_cur = %d", v)
	}
	hold.Release()

	// b stops and starts again with an empty table: it asks a for a lesson.
	b.s.Stop()
	b = startNode(t, "b", addrs, rateTable(t), false)
	defer b.s.Stop()
	eventually(t, 15*time.Second, func() bool {
		return value(b.t, k1, stick.GPC0) == 3 && value(b.t, k1, stick.HTTPReqRate) == 4 && value(b.t, k2, stick.GPC0) == 2
	}, "restarted b did not resynchronise: %d %d", value(b.t, k1, stick.GPC0), value(b.t, k2, stick.GPC0))
	p, _ := b.t.PeekKey(k1)
	if p.Expire <= 0 || p.Expire > 60000 {
		t.Errorf("learned entry expires in %d ms", p.Expire)
	}
	eventually(t, 10*time.Second, func() bool {
		var sb strings.Builder
		b.s.Show(&sb)
		return strings.Contains(sb.String(), "flags=0x3 ")
	}, "b never considered itself synchronised")
	var sb strings.Builder
	a.s.Show(&sb)
	out := sb.String()
	for _, want := range []string{"id=mesh disabled=0", "id=b(remote,active)", "id=a(local,inactive) addr=" + addrs["a"], "last_status=ESTA", "table:", "id=rl"} {
		if !strings.Contains(out, want) {
			t.Errorf("show peers lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`id=b\(remote,active\).*\n\s+reconnect=\d+s heartbeat=\d+s `).MatchString(out) {
		t.Errorf("show peers: no liveness and heartbeat timers for the active session:\n%s", out)
	}
}

// A section that was synchronised before (a reload) asks no lesson.
func TestSyncedSectionAsksNothing(t *testing.T) {
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	a := startNode(t, "a", addrs, rateTable(t), false)
	defer a.s.Stop()
	// A fake peer "b" that records what a sends after the handshake.
	c, err := net.Dial("tcp", addrs["a"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "HAProxyS 2.1\na\nb 1 1\n")
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || line != "200\n" {
		t.Fatalf("status %q %v", line, err)
	}
	// a is not synchronised: it asks b, its only peer, for a lesson.
	m, err := readMessage(br)
	if err != nil || m.class != classControl || m.typ != ctrlResyncReq {
		t.Fatalf("first message %v %v, want a resync request", m, err)
	}
	// b teaches: a definition, one timed update, finished.
	def, types := localDef(1, "rl", rateTable(t), false)
	_ = types
	k, _ := a.t.KeyIPAddr(netip.MustParseAddr("192.0.2.9"))
	data, err := encodeUpdate(nil, def, &update{id: 5, hasID: true, timed: true, expireIn: 5000, key: k,
		vals: []wireValue{{n: 2, words: []uint64{42}}, {n: 6, words: []uint64{9}}, {n: 10, words: []uint64{100, 7, 0}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	out = appendMessage(out, classStickTable, stktDefine, def.encode())
	out = appendMessage(out, classStickTable, stktUpdateTimed, data)
	out = appendMessage(out, classControl, ctrlResyncFinished, nil)
	c.Write(out)
	// a acknowledges update 5 of our table 1 and confirms the lesson.
	var gotAck, gotConfirm bool
	for !(gotAck && gotConfirm) {
		m, err := readMessage(br)
		if err != nil {
			t.Fatalf("reading a's answer: %v", err)
		}
		switch {
		case m.class == classStickTable && m.typ == stktAck:
			id, upd, _ := decodeAck(m.data)
			if id != 1 || upd != 5 {
				t.Fatalf("ack %d/%d, want 1/5", id, upd)
			}
			gotAck = true
		case m.class == classControl && m.typ == ctrlResyncConfirm:
			gotConfirm = true
		}
	}
	if v := value(a.t, k, stick.GPC0); v != 42 {
		t.Errorf("gpc0 = %d, want 42", v)
	}
	if v := value(a.t, k, stick.ConnCur); v != 0 {
		t.Errorf("conn_cur learned: %d", v)
	}
	if p, _ := a.t.PeekKey(k); p.Expire > 5000 || p.Expire < 3000 {
		t.Errorf("expire %d, want the update's 5000 ms", p.Expire)
	}
	// A hostile update (truncated) ends the session with a protocol error.
	c.Write(appendMessage(nil, classStickTable, stktUpdate, []byte{0, 0, 0, 6, 1}))
	for {
		m, err := readMessage(br)
		if err != nil {
			t.Fatalf("no protocol error before the end: %v", err)
		}
		if m.class == classError && m.typ == errProtocol {
			break
		}
	}

	// Synced (a reload): the first message is not a resync request.
	addrs2 := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	a2 := startNode(t, "a", addrs2, rateTable(t), true)
	defer a2.s.Stop()
	c2, err := net.Dial("tcp", addrs2["a"])
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "HAProxyS 2.1\na\nb 1 1\n")
	br2 := bufio.NewReader(c2)
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	if line, _ := br2.ReadString('\n'); line != "200\n" {
		t.Fatalf("status %q", line)
	}
	m, err = readMessage(br2) // a heartbeat within 3 s, nothing else
	if err != nil || m.class != classControl || m.typ != ctrlHeartbeat {
		t.Fatalf("synced section sent %v %v, want a heartbeat", m, err)
	}
}

// The handshake's refusals, as HAProxy 2.6 answers them.
func TestHandshakeStatus(t *testing.T) {
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	a := startNode(t, "a", addrs, rateTable(t), true)
	defer a.s.Stop()
	cases := []struct{ hello, want string }{
		{"HAProxyS 2.1\na\nb 1 1\n", "200"},
		{"HAProxyX 2.1\na\nb 1 1\n", "501"},
		{"HAProxyS 3.0\na\nb 1 1\n", "502"},
		{"HAProxyS 2.2\na\nb 1 1\n", "502"},
		{"HAProxyS 2.0\na\nb 1 1\n", "200"},
		{"HAProxyS 2.1\nnot-me\nb 1 1\n", "503"},
		{"HAProxyS 2.1\na\nstranger 1 1\n", "504"},
		{"HAProxyS 2.1\na\nb\n", "501"},
		{"HAProxyS 2.1\r\na\r\nb 1 1\r\n", "200"},
		{strings.Repeat("x", 600) + "\n", "501"},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", addrs["a"])
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte(c.hello))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if strings.TrimSpace(line) != c.want {
			t.Errorf("%q: status %q, want %s", c.hello, line, c.want)
		}
	}
	_ = bytes.Equal
}

// A peer away while many keys change does not make this process keep
// every key: past twice the table's size (at least 1024) it remembers to
// push the whole table instead, and does when the peer comes.
func TestDirtyKeysBounded(t *testing.T) {
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	small := func() *stick.Table {
		return testTable(t, stick.Config{Name: "rl", Type: stick.KeyIP, Size: 10, Expire: time.Minute,
			Store: []stick.Store{{Type: stick.GPC0}}})
	}
	a := startNode(t, "a", addrs, small(), true)
	defer a.s.Stop()
	for i := 0; i < 1100; i++ {
		track(t, a.t, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 1)
	}
	pb := a.s.peers[1]
	pb.dmu.Lock()
	n, full := len(pb.dirty[0]), pb.full[0]
	pb.dmu.Unlock()
	if n >= 1024 || !full {
		t.Fatalf("after 1100 keys for an absent peer: %d remembered, full=%v", n, full)
	}
	b := startNode(t, "b", addrs, testTable(t, stick.Config{Name: "rl", Type: stick.KeyIP, Size: 2000, Expire: time.Minute,
		Store: []stick.Store{{Type: stick.GPC0}}}), true)
	defer b.s.Stop()
	eventually(t, 15*time.Second, func() bool { return b.t.Len() == 10 }, "b holds %d entries, want a's 10", b.t.Len())
}

// Every HAProxy 2.6 data type travels: the gpt, gpc and gpc_rate arrays
// (their sizes and period in the definition), sessions and bytes.
func TestArraysAndAllTypesTravel(t *testing.T) {
	mk := func() *stick.Table {
		return testTable(t, stick.Config{Name: "rl", Type: stick.KeyIP, Size: 10, Expire: time.Minute, Store: []stick.Store{
			{Type: stick.GPT, Count: 2}, {Type: stick.GPC, Count: 3}, {Type: stick.GPCRate, Count: 2, Period: 10 * time.Second},
			{Type: stick.SessCnt}, {Type: stick.BytesInCnt}, {Type: stick.BytesOutRate, Period: 10 * time.Second}}})
	}
	def, _ := localDef(1, "rl", mk(), false)
	if def.nbelem[22] != 2 || def.nbelem[23] != 3 || def.nbelem[24] != 2 || def.period[24] != 10000 || def.period[16] != 10000 {
		t.Fatalf("definition parameters: nbelem %v period %v", def.nbelem, def.period)
	}
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	a := startNode(t, "a", addrs, mk(), true)
	defer a.s.Stop()
	b := startNode(t, "b", addrs, mk(), true)
	defer b.s.Stop()
	k, _ := a.t.KeyIPAddr(netip.MustParseAddr("10.9.9.9"))
	var tr stick.Tracker
	tr.Track(0, a.t, k, true)
	tr.AddGPCAt(0, 2, 5)
	tr.SetGPTAt(0, 1, 7)
	tr.CountSession()
	tr.AddBytes(1000, 2000)
	tr.Release()
	eventually(t, 10*time.Second, func() bool {
		var bb, ab strings.Builder
		bw, aw := bufio.NewWriter(&bb), bufio.NewWriter(&ab)
		b.t.Dump(bw, "")
		a.t.Dump(aw, "")
		bw.Flush()
		aw.Flush()
		strip := regexp.MustCompile(`^0x[0-9a-f]+: |exp=\d+ `)
		return bb.Len() > 0 && strip.ReplaceAllString(bb.String(), "") == strip.ReplaceAllString(ab.String(), "")
	}, "b's entry differs from a's")
	var sb strings.Builder
	w := bufio.NewWriter(&sb)
	b.t.Dump(w, "")
	w.Flush()
	for _, want := range []string{"gpt1=7", "gpc2=5", "sess_cnt=1", "bytes_in_cnt=1000"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("b's entry lacks %s: %s", want, sb.String())
		}
	}
}
