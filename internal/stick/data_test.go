package stick

import (
	"bufio"
	"regexp"
	"strings"
	"testing"
	"time"
)

func dumpText(t *testing.T, tb *Table, fs ...Filter) string {
	t.Helper()
	var b strings.Builder
	w := bufio.NewWriter(&b)
	tb.Dump(w, "", fs...)
	w.Flush()
	// The entry's address varies.
	return regexp.MustCompile(`0x[0-9a-f]+: `).ReplaceAllString(b.String(), "")
}

// The arrays print one element each, after the scalar types, as HAProxy
// 2.6's show table ("gpt0=.. gpc0=.. gpc0_rate(P)=..").
func TestArraysDumpLikeHAProxy(t *testing.T) {
	tb, _ := newTable(t, Config{Name: "t", Type: KeyIP, Size: 10, Store: []Store{
		{Type: GPT, Count: 3}, {Type: GPC, Count: 2}, {Type: GPCRate, Count: 2, Period: 10 * time.Second},
		{Type: SessCnt}, {Type: SessRate, Period: 10 * time.Second}, {Type: BytesInCnt}, {Type: BytesInRate, Period: 10 * time.Second},
		{Type: BytesOutCnt}, {Type: BytesOutRate, Period: 10 * time.Second}, {Type: ConnCnt}, {Type: HTTPReqCnt}}})
	k := ipKey(t, tb, "127.0.0.1")
	var tr Tracker
	tr.Track(0, tb, k, true)
	tr.CountSession()
	tr.IncGPCAt(0, 1)
	tr.IncGPCAt(0, 1)
	tr.AddGPCAt(0, 0, 5)
	tr.SetGPTAt(0, 2, ^uint64(0)) // -1: HAProxy keeps 32 bits
	tr.SetGPTAt(0, 0, 3)
	tr.AddBytes(247, 249)
	if tr.SetGPTAt(0, 3, 1) || tr.SetGPT0(1, 1) {
		t.Error("a gpt element past the array, or an untracked counter, was set")
	}
	if _, ok := tr.IncGPCAt(0, 2); ok {
		t.Error("gpc element 2 of gpc(2) incremented")
	}
	tr.Release()
	want := "key=127.0.0.1 use=0 exp=0 conn_cnt=1 sess_cnt=1 sess_rate(10000)=1 http_req_cnt=1 bytes_in_cnt=247 bytes_in_rate(10000)=247 " +
		"bytes_out_cnt=249 bytes_out_rate(10000)=249 gpt0=3 gpt1=0 gpt2=4294967295 gpc0=5 gpc1=2 gpc0_rate(10000)=5 gpc1_rate(10000)=2\n"
	if got := dumpText(t, tb); got != want {
		t.Errorf("dump\n got %q\nwant %q", got, want)
	}
	if v, ok := tb.LookupAt(k, GPC, 1); !ok || v != 2 {
		t.Errorf("gpc[1] = %d, %v", v, ok)
	}
	if _, ok := tb.LookupAt(k, GPC, 2); ok {
		t.Error("gpc[2] of gpc(2) found")
	}
	// gpc0 and gpt0, not stored, read the arrays' first elements.
	if v, ok := tb.Lookup(k, GPC0); !ok || v != 5 {
		t.Errorf("gpc0 through gpc[0] = %d, %v", v, ok)
	}
	if v, ok := tb.Lookup(k, GPC1Rate); !ok || v != 2 {
		t.Errorf("gpc1_rate through gpc_rate[1] = %d, %v", v, ok)
	}
	if v, ok := tb.Lookup(k, GPT0); !ok || v != 3 {
		t.Errorf("gpt0 through gpt[0] = %d, %v", v, ok)
	}
	if tb.Stores(GPC0) || !tb.Has(GPC0) {
		t.Error("Stores/Has of gpc0 in a gpc table")
	}
}

// HAProxy 2.6's legacy actions use the array where the legacy type is not
// stored, type by type; the array actions never use the legacy types.
func TestLegacyFallbackTypeByType(t *testing.T) {
	tb, _ := newTable(t, Config{Name: "f", Type: KeyIP, Size: 10, Store: []Store{
		{Type: GPC0}, {Type: GPT0}, {Type: GPCRate, Count: 2, Period: 10 * time.Second}}})
	k := ipKey(t, tb, "127.0.0.1")
	var tr Tracker
	tr.Track(0, tb, k, true)
	if _, ok := tr.IncGPCAt(0, 0); !ok { // gpc_rate[0] only
		t.Fatal("sc-inc-gpc(0,0) found nothing")
	}
	tr.IncGPCAt(0, 1)
	if tr.SetGPTAt(0, 0, 5) {
		t.Error("sc-set-gpt(0,0) set gpt0")
	}
	if v, ok := tr.IncGPC(0, 0); !ok || v != 1 { // gpc0 and gpc_rate[0]
		t.Errorf("sc_inc_gpc0 = %d, %v", v, ok)
	}
	tr.Release()
	want := "key=127.0.0.1 use=0 exp=0 gpt0=0 gpc0=1 gpc0_rate(10000)=2 gpc1_rate(10000)=1\n"
	if got := dumpText(t, tb); got != want {
		t.Errorf("dump\n got %q\nwant %q", got, want)
	}
}

func TestArrayLayoutErrors(t *testing.T) {
	for _, c := range []struct {
		store []Store
		err   string
	}{
		{[]Store{{Type: GPC, Count: 3}, {Type: GPC0}}, "simultaneous usage of 'gpc' and 'gpc[0/1]'"},
		{[]Store{{Type: GPT, Count: 3}, {Type: GPT0}}, "'gpt' overrides 'gpt0'"},
		{[]Store{{Type: GPCRate, Count: 3, Period: time.Second}, {Type: GPC1Rate, Period: time.Second}}, "'gpc_rate' overrides 'gpc[0/1]_rate'"},
		{[]Store{{Type: GPC, Count: 0}}, "out of allowed range (1-100)"},
		{[]Store{{Type: GPC, Count: 101}}, "out of allowed range (1-100)"},
		{[]Store{{Type: GPCRate, Count: 2}}, "needs a period"},
	} {
		_, err := New(Config{Name: "t", Type: KeyIP, Size: 1, Store: c.store}, nil)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: error %v, want %q", c.store, err, c.err)
		}
	}
	// The largest arrays fit the word offsets.
	tb, err := New(Config{Name: "t", Type: KeyIP, Size: 1, Store: []Store{{Type: GPT, Count: 100}, {Type: GPC, Count: 100},
		{Type: GPCRate, Count: 100, Period: time.Second}, {Type: HTTPReqCnt}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tr Tracker
	tr.Track(0, tb, "\x01\x02\x03\x04", true)
	tr.IncGPCAt(0, 99)
	if v, _ := tr.GetAt(0, GPC, 99); v != 1 {
		t.Errorf("gpc[99] = %d", v)
	}
	if v, _ := tr.GetAt(0, GPCRate, 99); v != 1 {
		t.Errorf("gpc_rate[99] = %d", v)
	}
	if v, _ := tr.Get(0, HTTPReqCnt); v != 1 {
		t.Errorf("http_req_cnt after the arrays = %d", v)
	}
}

// show table's data filters compare element 0 of an array; set table sets
// rates (a new period counting the value) and cuts 32-bit types.
func TestFiltersAndSet(t *testing.T) {
	tb, _ := newTable(t, Config{Name: "t", Type: KeyIP, Size: 10, Store: []Store{
		{Type: GPC, Count: 2}, {Type: SessRate, Period: time.Second}, {Type: BytesInCnt}}})
	a, b := ipKey(t, tb, "10.0.0.1"), ipKey(t, tb, "10.0.0.2")
	if err := tb.Set(a, map[DataType]uint64{GPC: 5, SessRate: 3, BytesInCnt: 99999999999}); err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(b, map[DataType]uint64{GPC: 1<<32 + 1}); err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(b, map[DataType]uint64{GPC0: 1}); err == nil {
		t.Error("set of gpc0, not stored, accepted")
	}
	all := dumpText(t, tb)
	if !strings.Contains(all, "key=10.0.0.1 use=0 exp=0 sess_rate(1000)=3 bytes_in_cnt=99999999999 gpc0=5 gpc1=0") ||
		!strings.Contains(all, "key=10.0.0.2 use=0 exp=0 sess_rate(1000)=0 bytes_in_cnt=0 gpc0=1 gpc1=0") {
		t.Errorf("dump:\n%s", all)
	}
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{GPC, "gt", 1}, "10.0.0.1"}, {Filter{GPC, "eq", 1}, "10.0.0.2"}, {Filter{GPC, "le", 5}, "10.0.0.1 10.0.0.2"},
		{Filter{GPC, "lt", 1}, ""}, {Filter{GPC, "ne", 5}, "10.0.0.2"}, {Filter{GPC, "ge", 5}, "10.0.0.1"},
		{Filter{BytesInCnt, "gt", 1 << 33}, "10.0.0.1"}, {Filter{SessRate, "eq", 0}, "10.0.0.2"},
	} {
		var keys []string
		for _, m := range regexp.MustCompile(`key=(\S+)`).FindAllStringSubmatch(dumpText(t, tb, c.f), -1) {
			keys = append(keys, m[1])
		}
		if got := strings.Join(keys, " "); got != c.want {
			t.Errorf("%v: %q, want %q", c.f, got, c.want)
		}
	}
	tb.ClearMatching([]Filter{{GPC, "gt", 1}})
	if tb.Len() != 1 {
		t.Errorf("clear table data.gpc gt 1 left %d entries", tb.Len())
	}
}

// ReadPeer and WritePeer carry every element of an array, rates with
// their ticks relative, so a peer's copy dumps the same.
func TestPeerArrays(t *testing.T) {
	cfg := Config{Name: "t", Type: KeyIP, Size: 10, Store: []Store{
		{Type: GPT, Count: 2}, {Type: GPC, Count: 3}, {Type: GPCRate, Count: 2, Period: 10 * time.Second}, {Type: BytesInCnt}}}
	a, _ := newTable(t, cfg)
	b, _ := newTable(t, cfg)
	k := ipKey(t, a, "192.0.2.9")
	var tr Tracker
	tr.Track(0, a, k, false)
	tr.AddGPCAt(0, 2, 4)
	tr.AddGPCAt(0, 1, 3)
	tr.SetGPTAt(0, 1, 8)
	tr.AddBytes(1<<40, 0)
	tr.Release()
	if a.Words(GPCRate) != 6 || a.Words(GPC) != 3 || a.Words(GPC0) != 0 {
		t.Fatalf("words: gpc_rate %d gpc %d gpc0 %d", a.Words(GPCRate), a.Words(GPC), a.Words(GPC0))
	}
	var vals []PeerValue
	if _, ok := a.ReadPeer(k, func(d DataType, w []uint64) {
		vals = append(vals, PeerValue{Type: d, Words: append([]uint64(nil), w...)})
	}); !ok {
		t.Fatal("ReadPeer found no entry")
	}
	if err := b.WritePeer(k, 0, vals); err != nil {
		t.Fatal(err)
	}
	if ga, gb := dumpText(t, a), dumpText(t, b); ga != gb || !strings.Contains(ga, "gpt1=8 gpc0=0 gpc1=3 gpc2=4 gpc0_rate(10000)=0 gpc1_rate(10000)=3") {
		t.Errorf("peer copy differs:\n%s%s", ga, gb)
	}
	vals[1].Words = vals[1].Words[:1]
	if err := b.WritePeer(k, 0, vals); err == nil {
		t.Error("a short array accepted")
	}
}
