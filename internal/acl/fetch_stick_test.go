package acl

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// The array fetches and converters read element <idx> of gpc, gpc_rate
// and gpt only; gpc0/gpt0 fetches fall back to the arrays; kbytes_* are
// the byte counters in kB; sess_* and bytes_*_rate read their types.
func TestStickArrayFetches(t *testing.T) {
	arr, err := stick.New(stick.Config{Name: "arr", Type: stick.KeyIP, Size: 10, Store: []stick.Store{
		{Type: stick.GPT, Count: 2}, {Type: stick.GPC, Count: 3}, {Type: stick.GPCRate, Count: 3, Period: 10 * time.Second},
		{Type: stick.SessCnt}, {Type: stick.SessRate, Period: 10 * time.Second},
		{Type: stick.BytesInCnt}, {Type: stick.BytesOutCnt}, {Type: stick.BytesOutRate, Period: 10 * time.Second}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := stick.New(stick.Config{Name: "old", Type: stick.KeyIP, Size: 10, Store: []stick.Store{{Type: stick.GPC0}, {Type: stick.GPT0}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("192.0.2.7:4000")
	st := &stick.Stream{Tables: map[string]*stick.Table{"arr": arr, "old": old}, Current: arr}
	key, _ := arr.KeyIPAddr(src.Addr())
	st.Track(0, arr, key, true)
	st.Track(1, old, key, true)
	st.CountSession()
	st.AddBytes(5000, 3000)
	st.IncGPCAt(0, 2)
	st.AddGPCAt(0, 1, 7)
	st.SetGPTAt(0, 1, 9)
	st.SetGPT0(0, 4) // gpt[0]
	txn := &Txn{Src: src, Stick: st}
	for _, c := range []struct{ expr, want string }{
		{"sc_get_gpc(2,0)", "1"}, {"sc_get_gpc(1,0)", "7"}, {"sc_gpc_rate(1,0)", "7"}, {"sc_get_gpt(1,0)", "9"},
		{"sc_get_gpt0(0)", "4"}, {"sc0_get_gpc0", "0"}, {"sc_get_gpc(3,0)", ""}, {"sc_get_gpc(0,1)", ""},
		{"sc_get_gpc(1,1,arr)", "7"}, {"sc1_get_gpt0", "0"},
		{"sc_sess_cnt(0)", "1"}, {"sc0_sess_rate", "1"}, {"sc0_kbytes_in", "4"}, {"sc_kbytes_out(0)", "2"}, {"sc0_bytes_out_rate", "3000"},
		{"sc0_bytes_in_rate", ""}, {"sc1_sess_cnt", ""},
		{"src_get_gpc(1)", "7"}, {"src_gpc_rate(2)", "1"}, {"src_get_gpt(1,arr)", "9"}, {"src_kbytes_in", "4"}, {"src_sess_cnt", "1"},
		{"src,table_gpc(1,arr)", "7"}, {"src,table_gpc_rate(2,arr)", "1"}, {"src,table_gpt(0,arr)", "4"}, {"src,table_gpt0(arr)", "4"},
		{"src,table_kbytes_out(arr)", "2"}, {"src,table_sess_cnt(arr)", "1"}, {"src,table_gpc(5,arr)", ""},
		{"src,table_gpc(0,old)", ""}, {"str(198.51.100.1),table_gpc(0,old)", "0"},
		// Increments: the tracked entry, then another table's entry of the same key.
		{"sc_inc_gpc(0,0)", "1"}, {"sc_inc_gpc(0,0)", "2"}, {"sc_clr_gpc(0,0)", "2"}, {"sc_get_gpc(0,0)", "0"},
		{"src_inc_gpc(2)", "2"}, {"src_clr_gpc(2,arr)", "2"}, {"sc_inc_gpc(0,1)", ""},
		{"src_inc_gpc0(old)", "1"}, {"sc1_get_gpc0", "1"}, {"src_clr_gpc0(old)", "1"}, {"src_inc_gpc0", "1"}, {"sc0_get_gpc0", "1"},
	} {
		e, err := CompileExpr(c.expr, config.Pos{})
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got, ok := e.AppendString(nil, txn)
		if !ok {
			got = nil
		}
		if string(got) != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	for _, bad := range []string{"sc_get_gpc(100,0)", "sc_get_gpc(0,3)", "src_get_gpc(-1)", "src,table_gpc(100,arr)", "sc_get_gpc(0)"} {
		if _, err := CompileExpr(bad, config.Pos{}); err == nil {
			t.Errorf("%s compiled", bad)
		}
	}
}
