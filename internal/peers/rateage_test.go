package peers

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// A rate's age is 32-bit tick arithmetic: HAProxy 2.6 sends
// (unsigned int)(now_ms - curr_tick), which is 2^32 minus a few ms when
// the period was started by a thread whose clock ran ahead of the
// sending one's (a fresh entry's first request, often). It is a period
// that started now: the count is current, not 49 days old
// (TestPeersShareWithHAProxy: HAProxy's first request showed here as
// http_req_rate 0, and the client got an 11th request through).
func TestRateAgeWrapsAsHAProxyTicks(t *testing.T) {
	pp := newPipePeer(t)
	for i, age := range []uint64{1<<32 - 3, 0, 1500} {
		id := uint32(i + 1)
		pp.sendRate(pp.key, id, 0, [3]uint64{age, 5, 0}, i == 0)
		pp.applied(id)
		if v := value(pp.a.t, pp.key, stick.HTTPReqRate); v != 5 {
			t.Errorf("age %d: http_req_rate = %d, want the current period's 5", age, v)
		}
	}
	// Past the period (10 s), over two: nothing is left.
	pp.sendRate(pp.key, 4, 0, [3]uint64{25000, 5, 0}, false)
	pp.applied(4)
	if v := value(pp.a.t, pp.key, stick.HTTPReqRate); v != 0 {
		t.Errorf("a rate of two periods ago reads %d, want 0", v)
	}
}

// A period a peer started in the future (its clock ahead) starts now
// here: what this process pushes back never carries a wrapped age, which
// HAProxy 2.6 stores as a start in the future, and its next count there
// (update_freq_ctr_period's unsigned comparison) then drops the rate's
// count as if periods had gone by: TestPeersShareWithHAProxy saw
// HAProxy's http_req_rate 2 short of its http_req_cnt, and the client's
// 11th and 12th requests got through.
func TestRateFromTheFutureGoesBackCurrent(t *testing.T) {
	pp := newPipePeer(t)
	pp.sendRate(pp.key, 1, 0, [3]uint64{1<<32 - 60000, 5, 0}, true)
	pp.applied(1)
	var tr stick.Tracker
	tr.Track(0, pp.a.t, pp.key, true) // a counts: 6
	defer tr.Release()
	var def *tableDef
	for {
		m, err := readMessage(pp.br)
		if err != nil {
			t.Fatalf("reading a's messages: %v", err)
		}
		if m.class != classStickTable {
			continue
		}
		if m.typ == stktDefine {
			if def, err = decodeTableDef(m.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if m.typ != stktUpdate {
			continue
		}
		u, err := decodeUpdate(m.typ, m.data, def, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range u.vals {
			if v.n != 10 || v.words[1] != 6 {
				continue
			}
			if age := v.words[0]; age >= 1<<31 {
				t.Fatalf("a pushed http_req_rate with age %d: a start in the future", age)
			}
			return
		}
	}
}
