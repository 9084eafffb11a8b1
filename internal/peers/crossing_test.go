package peers

import (
	"bufio"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// pipePeer is a fake remote peer "b" of node a over net.Pipe: a's writer
// blocks until the test reads, so the test decides when a pushes.
type pipePeer struct {
	t    *testing.T
	a    *node
	c    net.Conn
	br   *bufio.Reader
	def  *tableDef // b's definition of the shared table
	adef *tableDef // a's, as drain last read it
	key  string
}

func newPipePeer(t *testing.T, opts ...func(*Section)) *pipePeer {
	t.Helper()
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	a := startNode(t, "a", addrs, rateTable(t), false, opts...)
	t.Cleanup(a.s.Stop)
	srv, cli := net.Pipe()
	t.Cleanup(func() { cli.Close() })
	cli.SetDeadline(time.Now().Add(30 * time.Second))
	a.s.wg.Add(1)
	go a.s.serveIncoming(srv)
	if _, err := cli.Write([]byte("HAProxyS 2.1\na\nb 1 1\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(cli)
	if line, err := br.ReadString('\n'); err != nil || line != "200\n" {
		t.Fatalf("status %q %v", line, err)
	}
	def, _ := localDef(1, "rl", rateTable(t), false)
	k, _ := a.t.KeyIPAddr(netip.MustParseAddr("192.0.2.7"))
	return &pipePeer{t: t, a: a, c: cli, br: br, def: def, key: k}
}

// send writes b's update id with gpc0 = v (a definition first when def).
func (pp *pipePeer) send(id uint32, v uint64, def bool) {
	pp.t.Helper()
	pp.sendKey(pp.key, id, v, def)
}

// sendKey is send for another key.
func (pp *pipePeer) sendKey(key string, id uint32, v uint64, def bool) {
	pp.t.Helper()
	pp.sendRate(key, id, v, [3]uint64{}, def)
}

// sendRate is sendKey with http_req_rate's words (age, current and
// previous counts).
func (pp *pipePeer) sendRate(key string, id uint32, v uint64, rate [3]uint64, def bool) {
	pp.t.Helper()
	data, err := encodeUpdate(nil, pp.def, &update{id: id, hasID: true, key: key,
		vals: []wireValue{{n: 2, words: []uint64{v}}, {n: 6, words: []uint64{0}}, {n: 10, words: rate[:]}}})
	if err != nil {
		pp.t.Fatal(err)
	}
	var out []byte
	if def {
		out = appendMessage(out, classStickTable, stktDefine, pp.def.encode())
	}
	out = appendMessage(out, classStickTable, stktUpdate, data)
	if _, err := pp.c.Write(out); err != nil {
		pp.t.Fatal(err)
	}
}

// applied waits until a's session with b has received update id.
func (pp *pipePeer) applied(id uint32) {
	pp.t.Helper()
	var p *peer
	for _, q := range pp.a.s.peers {
		if q.name == "b" {
			p = q
		}
	}
	eventually(pp.t, 20*time.Second, func() bool {
		p.mu.Lock()
		ss := p.sess
		p.mu.Unlock()
		if ss == nil {
			return false
		}
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return ss.lastGet[0] == id
	}, "a never received b's update %d", id)
}

// readPush reads what a sends until its update of the key and returns
// that update's id and gpc0.
func (pp *pipePeer) readPush() (id uint32, gpc0 uint64) {
	pp.t.Helper()
	var def *tableDef
	for {
		m, err := readMessage(pp.br)
		if err != nil {
			pp.t.Fatalf("reading a's messages: %v", err)
		}
		switch {
		case m.class == classStickTable && m.typ == stktDefine:
			if def, err = decodeTableDef(m.data); err != nil {
				pp.t.Fatal(err)
			}
		case m.class == classStickTable && m.typ == stktUpdate:
			if def == nil {
				pp.t.Fatal("an update before a definition")
			}
			u, err := decodeUpdate(m.typ, m.data, def, 64)
			if err != nil {
				pp.t.Fatal(err)
			}
			if u.key != pp.key {
				continue
			}
			for _, v := range u.vals {
				if v.n == 2 {
					return u.id, v.words[0]
				}
			}
			pp.t.Fatalf("a's update %d carries no gpc0", u.id)
		}
	}
}

// A local change to an entry learned from a peer is pushed with its own
// value even when an update the peer sent before seeing it arrives first
// (before a's writer read the entry, or before b acknowledged the push):
// the crossing update would otherwise roll the entry back and a would
// push the peer's stale value, the local change lost on both sides.
func TestLocalChangeSurvivesCrossingUpdate(t *testing.T) {
	pp := newPipePeer(t)
	a := pp.a
	// a's writer is stuck writing its resync request: nothing is pushed
	// until the test reads.
	pp.send(1, 1, true)
	pp.applied(1)
	if v := value(a.t, pp.key, stick.GPC0); v != 1 {
		t.Fatalf("learned gpc0 = %d, want 1", v)
	}
	// a counts locally (gpc0 2); b, which has not seen it, sends its 1
	// again (its own touch of the entry, as a stream's end pushes).
	var tr stick.Tracker
	tr.Track(0, a.t, pp.key, true)
	tr.IncGPC(0, 0)
	tr.Release()
	pp.send(2, 1, false)
	pp.applied(2)
	if v := value(a.t, pp.key, stick.GPC0); v != 2 {
		t.Errorf("a's unpushed change was rolled back by the crossing update: gpc0 = %d, want 2", v)
	}
	id, v := pp.readPush()
	if v != 2 {
		t.Errorf("a pushed gpc0 = %d, want its own 2", v)
	}
	// Pushed, not yet acknowledged: b may still send what it had.
	pp.send(3, 1, false)
	pp.applied(3)
	if v := value(a.t, pp.key, stick.GPC0); v != 2 {
		t.Errorf("an update crossing a's unacknowledged push rolled it back: gpc0 = %d, want 2", v)
	}
	// Once b acknowledged the push, its updates apply again.
	if _, err := pp.c.Write(appendMessage(nil, classStickTable, stktAck, encodeAck(1, id))); err != nil {
		t.Fatal(err)
	}
	pp.send(4, 7, false)
	eventually(t, 20*time.Second, func() bool { return value(a.t, pp.key, stick.GPC0) == 7 },
		"b's update after its acknowledgement was not applied: gpc0 = %d", value(a.t, pp.key, stick.GPC0))
}

// A stream's end touches its entry (conn_cur, expiry) without changing
// what peers store: it must not hold back a peer's newer update, or the
// push that follows would roll the peer back to this process's older
// count.
func TestStreamEndDoesNotHoldBackPeerUpdate(t *testing.T) {
	pp := newPipePeer(t)
	a := pp.a
	pp.send(1, 1, true)
	pp.applied(1)
	var tr stick.Tracker
	tr.Track(0, a.t, pp.key, true)
	id, _ := pp.readPush()
	if _, err := pp.c.Write(appendMessage(nil, classStickTable, stktAck, encodeAck(1, id))); err != nil {
		t.Fatal(err)
	}
	var p *peer
	for _, q := range a.s.peers {
		if q.name == "b" {
			p = q
		}
	}
	eventually(t, 20*time.Second, func() bool {
		p.mu.Lock()
		ss := p.sess
		p.mu.Unlock()
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return len(ss.unacked[0]) == 0
	}, "a never took b's acknowledgement of update %d", id)
	tr.Release() // the entry is to push again, its shared data unchanged
	pp.send(2, 5, false)
	pp.applied(2)
	if v := value(a.t, pp.key, stick.GPC0); v != 5 {
		t.Errorf("b's update after a's stream ended was not stored: gpc0 = %d, want 5", v)
	}
}
