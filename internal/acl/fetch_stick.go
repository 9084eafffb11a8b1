package acl

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// Stick-table fetches, in HAProxy's three forms: sc_<x>(<ctr>[,<table>])
// and sc<N>_<x>([<table>]) read the entry a track-sc counter tracks (they
// fail when the counter tracks nothing or the table does not store the
// data), src_<x>([<table>]) reads the entry of the client's address
// (0 when there is none). A named table must exist; the default is the
// table of the proxy whose rules run.

type stickRead struct {
	name  string
	d     stick.DataType
	doc   string
	shift uint // kbytes_*: the byte counter in kilobytes
}

func stickReads() []stickRead {
	return []stickRead{
		{"conn_cnt", stick.ConnCnt, "connections counted by the entry (conn_cnt)", 0},
		{"conn_cur", stick.ConnCur, "concurrent connections tracking the entry (conn_cur)", 0},
		{"conn_rate", stick.ConnRate, "connection rate over the table's period (conn_rate)", 0},
		{"http_req_cnt", stick.HTTPReqCnt, "HTTP requests counted (http_req_cnt)", 0},
		{"http_req_rate", stick.HTTPReqRate, "HTTP request rate over the table's period (http_req_rate)", 0},
		{"http_err_cnt", stick.HTTPErrCnt, "HTTP errors counted, 4xx responses (http_err_cnt)", 0},
		{"http_err_rate", stick.HTTPErrRate, "HTTP error rate (http_err_rate)", 0},
		{"http_fail_cnt", stick.HTTPFailCnt, "HTTP failures counted, 5xx responses but 501 and 505 (http_fail_cnt)", 0},
		{"http_fail_rate", stick.HTTPFailRate, "HTTP failure rate (http_fail_rate)", 0},
		{"get_gpc0", stick.GPC0, "the general purpose counter gpc0", 0},
		{"get_gpc1", stick.GPC1, "the general purpose counter gpc1", 0},
		{"gpc0_rate", stick.GPC0Rate, "gpc0's increment rate (gpc0_rate)", 0},
		{"gpc1_rate", stick.GPC1Rate, "gpc1's increment rate (gpc1_rate)", 0},
		{"get_gpt0", stick.GPT0, "the general purpose tag gpt0", 0},
		{"sess_cnt", stick.SessCnt, "sessions counted, connections accepted by the tcp-request connection and session rules (sess_cnt)", 0},
		{"sess_rate", stick.SessRate, "session rate over the table's period (sess_rate)", 0},
		{"bytes_in_rate", stick.BytesInRate, "client-to-server byte rate over the table's period (bytes_in_rate)", 0},
		{"bytes_out_rate", stick.BytesOutRate, "server-to-client byte rate over the table's period (bytes_out_rate)", 0},
		{"kbytes_in", stick.BytesInCnt, "client-to-server kilobytes (bytes_in_cnt / 1024)", 10},
		{"kbytes_out", stick.BytesOutCnt, "server-to-client kilobytes (bytes_out_cnt / 1024)", 10},
	}
}

func stickFetches() []fetchDef {
	var out []fetchDef
	for _, r := range stickReads() {
		d, sh := r.d, r.shift
		out = append(out,
			fetchDef{name: "sc_" + r.name, args: "iS", out: tInt, check: checkSCArg, doc: "sc_<ctr>: " + r.doc,
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
					return scRead(t, int(a.num[0]), a.str[1], d, 0, sh)
				}},
			fetchDef{name: "src_" + r.name, args: "S", out: tInt, need: NeedConn, doc: "the client address's entry: " + r.doc,
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) { return srcRead(t, a.str[0], d, 0, sh) }})
		for n := 0; n < stick.Slots; n++ {
			n := n
			out = append(out, fetchDef{name: "sc" + strconv.Itoa(n) + "_" + r.name, args: "S", out: tInt, doc: r.doc,
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) { return scRead(t, n, a.str[0], d, 0, sh) }})
		}
	}
	type op struct {
		name string
		idx  int
		clr  bool
	}
	for _, o := range []op{{"inc_gpc0", 0, false}, {"inc_gpc1", 1, false}, {"clr_gpc0", 0, true}, {"clr_gpc1", 1, true}} {
		o := o
		doc := fmt.Sprintf("increments gpc%d (and gpc%d_rate) and returns its new value", o.idx, o.idx)
		if o.clr {
			doc = fmt.Sprintf("sets gpc%d to 0 and returns its previous value", o.idx)
		}
		out = append(out, fetchDef{name: "sc_" + o.name, args: "i", out: tInt, check: checkSCArg, doc: doc,
			fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
				return scUpdate(t, int(a.num[0]), o.idx, o.clr)
			}})
		for n := 0; n < stick.Slots; n++ {
			n := n
			out = append(out, fetchDef{name: "sc" + strconv.Itoa(n) + "_" + o.name, out: tInt, doc: doc,
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) { return scUpdate(t, n, o.idx, o.clr) }})
		}
	}
	out = append(out, fetchDef{name: "sc_tracked", args: "i", out: tBool, check: checkSCArg, doc: "true when counter <ctr> tracks an entry",
		fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) { return scTracked(t, int(a.num[0])) }})
	for n := 0; n < stick.Slots; n++ {
		n := n
		out = append(out, fetchDef{name: "sc" + strconv.Itoa(n) + "_tracked", out: tBool, doc: "true when the counter tracks an entry",
			fn: func(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) { return scTracked(t, n) }})
	}
	return append(out, stickArrayFetches()...) // fetch_stick_array.go
}

func checkSCArg(a *fetchArgs) error {
	if a.num[0] < 0 || a.num[0] >= stick.Slots {
		return fmt.Errorf("invalid stick counter %d (expected 0 to %d)", a.num[0], stick.Slots-1)
	}
	return nil
}

// scRead reads element idx of d (0 for scalar types) of the entry counter
// n tracks, or of its key in table, divided by 2^sh (kbytes_*).
func scRead(t *Txn, n int, table string, d stick.DataType, idx int, sh uint) (sample, cursor, fres) {
	s := t.Stick
	if s == nil {
		return sample{}, cursor{}, fNone
	}
	tab, ok := s.Tracking(n)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	if table != "" {
		other := s.Table(table)
		if other == nil || !other.HasAt(d, idx) {
			return sample{}, cursor{}, fNone
		}
		if other != tab {
			v, _ := other.LookupAt(s.Key(n), d, idx)
			return intSmp(int64(v >> sh)), cursor{}, fVal
		}
	}
	v, ok := s.GetAt(n, d, idx)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(v >> sh)), cursor{}, fVal
}

// srcRead reads element idx of d of the client address's entry.
func srcRead(t *Txn, table string, d stick.DataType, idx int, sh uint) (sample, cursor, fres) {
	s := t.Stick
	if s == nil || !t.Src.IsValid() {
		return sample{}, cursor{}, fNone
	}
	tab := s.Table(table)
	if tab == nil || !tab.HasAt(d, idx) {
		return sample{}, cursor{}, fNone
	}
	key, ok := srcKey(tab, t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	v, _ := tab.LookupAt(key, d, idx)
	return intSmp(int64(v >> sh)), cursor{}, fVal
}

// srcKey converts the client address to the table's key type.
func srcKey(tab *stick.Table, t *Txn) (string, bool) {
	a := t.Src.Addr()
	switch tab.Config().Type {
	case stick.KeyIP, stick.KeyIPv6:
		return tab.KeyIPAddr(a)
	case stick.KeyString:
		return tab.KeyString(a.Unmap().String()), true
	}
	return "", false
}

func scUpdate(t *Txn, n, idx int, clr bool) (sample, cursor, fres) {
	if t.Stick == nil {
		return sample{}, cursor{}, fNone
	}
	var v uint64
	var ok bool
	if clr {
		v, ok = t.Stick.ClearGPC(n, idx)
	} else {
		v, ok = t.Stick.IncGPC(n, idx)
	}
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(v)), cursor{}, fVal
}

func scTracked(t *Txn, n int) (sample, cursor, fres) {
	if t.Stick == nil {
		return boolSmp(false), cursor{}, fVal
	}
	_, ok := t.Stick.Tracking(n)
	return boolSmp(ok), cursor{}, fVal
}

// StickKey evaluates e (a track-sc key) and converts its value to a key of
// tab, as HAProxy's stktable_fetch_key casts a sample to the table's type;
// false when there is no value or it does not convert (then nothing is
// tracked).
func (e *Expr) StickKey(t *Txn, tab *stick.Table) (string, bool) {
	s, _, r := e.fetch.fn(t, &e.args, cursor{})
	if r&fVal == 0 {
		return "", false
	}
	if s, ok := e.value(t, s); ok {
		return sampleKey(s, tab)
	}
	return "", false
}

func sampleKey(s sample, tab *stick.Table) (string, bool) {
	switch tab.Config().Type {
	case stick.KeyIP, stick.KeyIPv6:
		switch s.typ {
		case tIP:
			return tab.KeyIPAddr(s.ip)
		case tStr:
			a, err := netip.ParseAddr(s.s)
			if err != nil {
				return "", false
			}
			return tab.KeyIPAddr(a)
		}
		return "", false
	case stick.KeyInteger:
		switch s.typ {
		case tInt, tBool:
			return tab.KeyInt(s.i), true
		case tStr:
			v, ok := parseIntPrefix(s.s)
			if !ok {
				return "", false
			}
			return tab.KeyInt(v), true
		case tIP:
			if a := s.ip.Unmap(); a.Is4() {
				b := a.As4()
				return tab.KeyInt(int64(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))), true
			}
		}
		return "", false
	}
	switch s.typ {
	case tStr, tBin:
		return tab.KeyString(s.s), true
	case tIP:
		if tab.Config().Type == stick.KeyBinary {
			a := s.ip.Unmap()
			return tab.KeyString(string(a.AsSlice())), true
		}
		return tab.KeyString(s.ip.Unmap().String()), true
	}
	return tab.KeyString(strconv.FormatInt(s.i, 10)), true
}

// Int evaluates e as an integer (sc-set-gpt0's value).
func (e *Expr) Int(t *Txn) (int64, bool) {
	s, _, r := e.fetch.fn(t, &e.args, cursor{})
	if r&fVal == 0 {
		return 0, false
	}
	s, ok := e.value(t, s)
	if !ok {
		return 0, false
	}
	switch s.typ {
	case tInt, tBool:
		return s.i, true
	case tStr:
		return parseIntPrefix(s.s)
	}
	return 0, false
}
