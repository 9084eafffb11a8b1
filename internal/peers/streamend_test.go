package peers

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// drain makes sure everything a changed before the call has been sent:
// b sends two updates of another key (ids from *next) and reads a's
// messages until a acknowledges the second. Every change made before the
// first was due in the round that acknowledged it or an earlier one
// (a round writes its acknowledgements, then its pushes), so its push
// comes before the second acknowledgement. It returns a's updates of
// pp.key read meanwhile: their ids and gpc0 values.
func (pp *pipePeer) drain(next *uint32, def bool) (ids []uint32, gpc0 []uint64) {
	pp.t.Helper()
	other, _ := pp.a.t.KeyIPAddr(netip.MustParseAddr("192.0.2.99"))
	for round := 0; round < 2; round++ {
		*next++
		want := *next
		pp.sendKey(other, want, 0, def && round == 0)
		for acked := false; !acked; {
			m, err := readMessage(pp.br)
			if err != nil {
				pp.t.Fatalf("reading a's messages: %v", err)
			}
			switch {
			case m.class != classStickTable:
			case m.typ == stktDefine:
				if pp.adef, err = decodeTableDef(m.data); err != nil {
					pp.t.Fatal(err)
				}
			case m.typ == stktAck:
				_, upd, err := decodeAck(m.data)
				if err != nil {
					pp.t.Fatal(err)
				}
				acked = upd == want
			case m.typ == stktUpdate || m.typ == stktUpdateTimed:
				if pp.adef == nil {
					pp.t.Fatal("an update before a definition")
				}
				u, err := decodeUpdate(m.typ, m.data, pp.adef, 64)
				if err != nil {
					pp.t.Fatal(err)
				}
				if u.key != pp.key {
					continue
				}
				for _, v := range u.vals {
					if v.n == 2 {
						ids, gpc0 = append(ids, u.id), append(gpc0, v.words[0])
					}
				}
			}
		}
	}
	return ids, gpc0
}

// A stream's end right after its entry went to the peer sends nothing:
// conn_cur is never learned and the expiry is refreshed by the push, so
// the update would carry nothing new, and it would roll back the peer's
// next change crossing it (an update replaces the whole entry; HAProxy
// 2.6 has no guard against that). That lost a count in
// TestPeersShareWithHAProxy: the client got Gatehouse's response to its
// 6th request, sent the 7th to HAProxy, which counted 7 and then took
// Gatehouse's end of the 6th stream, carrying 6, and pushed 6 back.
func TestStreamEndAfterPushSendsNothing(t *testing.T) {
	pp := newPipePeer(t, func(s *Section) { s.tables[0].quiet = time.Hour })
	a := pp.a
	var tr stick.Tracker
	tr.Track(0, a.t, pp.key, true)
	tr.IncGPC(0, 0) // a counts 1
	var next uint32
	ids, vals := pp.drain(&next, true)
	if len(vals) == 0 || vals[len(vals)-1] != 1 {
		t.Fatalf("a pushed gpc0 %v, want its 1 last", vals)
	}
	// b takes it: a's push is acknowledged.
	if _, err := pp.c.Write(appendMessage(nil, classStickTable, stktAck, encodeAck(1, ids[len(ids)-1]))); err != nil {
		t.Fatal(err)
	}
	tr.Release() // the stream ends; b counts 2 meanwhile
	if _, vals := pp.drain(&next, false); len(vals) != 0 {
		t.Errorf("a pushed its stream's end (gpc0 %v) right after the count's push: it replaces b's whole entry, rolling back b's count made meanwhile", vals)
	}
	next++
	pp.send(next, 2, false)
	eventually(t, 20*time.Second, func() bool { return value(a.t, pp.key, stick.GPC0) == 2 },
		"a did not store b's count: gpc0 = %d", value(a.t, pp.key, stick.GPC0))
}

// A stream's end past the quiet window is pushed, as HAProxy pushes every
// touch: the entry's expiry on the peer starts again from it.
func TestStreamEndAfterQuietWindowIsPushed(t *testing.T) {
	pp := newPipePeer(t, func(s *Section) { s.tables[0].quiet = 0 })
	var tr stick.Tracker
	tr.Track(0, pp.a.t, pp.key, true)
	var next uint32
	if _, vals := pp.drain(&next, true); len(vals) == 0 {
		t.Fatal("a did not push the tracked entry")
	}
	tr.Release()
	if _, vals := pp.drain(&next, false); len(vals) != 1 {
		t.Errorf("a pushed its stream's end %d times, want once", len(vals))
	}
}
