package acl

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// The stick-table converters of HAProxy 2.6 (stick_table.c): in_table(<t>)
// and table_<data>(<t>) look their input, cast to the table's key type,
// up in table <t> without creating, refreshing or tracking an entry.
// A missing key gives false or 0; a present key in a table that does not
// store the data gives no value; table_expire and table_idle fail on a
// missing key unless given a default. A table that does not exist gives
// no value.

const (
	cTableFirst convOp = 112 + iota
	cInTable
	cTableData     // table_<data>: num[2] holds the stick.DataType
	cTableExpire   // ms until the entry expires
	cTableIdle     // ms since the entry was last updated
	cTableTrackers // streams tracking the entry
	cTableAt       // table_gpc, table_gpc_rate, table_gpt: num[0] the element, num[2] the type
	cTableKBytes   // table_kbytes_in/out: num[2] the byte counter, read in kB
)

func tableConvs() []convDef {
	const see = "; 0 when the key is not in <table>, no value when <table> does not store it"
	out := []convDef{
		{name: "in_table", args: "s", out: tBool, op: cInTable, doc: "true when the input, cast to <table>'s key type, is a key of <table> (nothing is created or tracked)"},
		{name: "table_expire", args: "sI", out: tInt, op: cTableExpire, doc: "milliseconds until the input's entry expires; no value when the key is not in <table>, unless <default_value> is given"},
		{name: "table_idle", args: "sI", out: tInt, op: cTableIdle, doc: "milliseconds since the input's entry was last updated; no value when the key is not in <table>, unless <default_value> is given"},
		{name: "table_trackers", args: "s", out: tInt, op: cTableTrackers, doc: "the streams tracking the input's entry now (show table's use) plus one, the lookup's own reference, as HAProxy 2.6 counts; 0 when the key is not in <table>"},
	}
	for _, d := range tableData {
		out = append(out, convDef{name: "table_" + d.String(), args: "s", out: tInt, op: cTableData,
			doc: "the input's entry's " + d.String() + see})
	}
	for _, d := range []stick.DataType{stick.GPC, stick.GPCRate, stick.GPT} {
		out = append(out, convDef{name: "table_" + d.String(), args: "is", out: tInt, op: cTableAt,
			doc: "element <idx> (0 to 99) of the input's entry's " + d.String() + " array (never gpc0, gpc1 or gpt0)" + see})
	}
	out = append(out,
		convDef{name: "table_kbytes_in", args: "s", out: tInt, op: cTableKBytes, doc: "the input's entry's bytes_in_cnt in kilobytes" + see},
		convDef{name: "table_kbytes_out", args: "s", out: tInt, op: cTableKBytes, doc: "the input's entry's bytes_out_cnt in kilobytes" + see})
	return out
}

// tableData are the data types HAProxy 2.6 has a table_<data> converter
// for, among those a stick-table line may store in Gatehouse (server_id
// is refused there, so table_server_id is not offered either); gpc0, gpc1,
// their rates and gpt0 read the arrays in a table storing those instead.
var tableData = []stick.DataType{stick.ConnCnt, stick.ConnCur, stick.ConnRate, stick.SessCnt, stick.SessRate,
	stick.HTTPReqCnt, stick.HTTPReqRate, stick.HTTPErrCnt, stick.HTTPErrRate, stick.HTTPFailCnt, stick.HTTPFailRate,
	stick.BytesInRate, stick.BytesOutRate, stick.GPC0, stick.GPC0Rate, stick.GPC1, stick.GPC1Rate, stick.GPT0}

// compileTableConv checks a table converter's arguments; the table's name
// is in str[0] afterwards whatever its position (table_gpc(<idx>,<table>)).
func compileTableConv(d *convDef, a fetchArgs) (conv, error) {
	c := conv{op: d.op, name: d.name, out: d.out, a: a}
	switch d.op {
	case cTableAt:
		if a.num[0] < 0 || a.num[0] >= stick.MaxArray {
			return c, fmt.Errorf("invalid array index %d (expected 0 to %d)", a.num[0], stick.MaxArray-1)
		}
		c.a.str[0], c.a.str[1] = a.str[1], ""
	case cTableKBytes:
		c.a.num[2] = int64(stick.BytesInCnt)
		if d.name == "table_kbytes_out" {
			c.a.num[2] = int64(stick.BytesOutCnt)
		}
	}
	if c.a.str[0] == "" {
		return c, errors.New("missing table name")
	}
	switch d.op {
	case cTableData, cTableAt:
		dt, ok := stick.ParseDataType(d.name[len("table_"):])
		if !ok {
			return c, errors.New("unknown data type")
		}
		c.a.num[2] = int64(dt)
	}
	return c, nil
}

// runTable looks the input up; see the comment at the top.
func (c *conv) runTable(t *Txn, typ smpType, b []byte, start int) ([]byte, smpType, bool) {
	fail := func() ([]byte, smpType, bool) { return b[:start], typ, false }
	if t.Stick == nil {
		return fail()
	}
	tab := t.Stick.Tables[c.a.str[0]]
	if tab == nil {
		return fail()
	}
	s, ok := bytesSample(typ, view(b[start:]))
	if !ok {
		return fail()
	}
	key, ok := sampleKey(s, tab)
	if !ok {
		return fail()
	}
	out := func(v int64) ([]byte, smpType, bool) { return strconv.AppendInt(b[:start], v, 10), c.out, true }
	switch c.op {
	case cInTable:
		_, found := tab.PeekKey(key)
		return boolSmp(found).appendTo(b[:start]), tBool, true
	case cTableExpire, cTableIdle, cTableTrackers:
		p, found := tab.PeekKey(key)
		switch {
		case !found && c.op == cTableTrackers:
			return out(0)
		case !found && c.a.n > 1:
			return out(c.a.num[1])
		case !found:
			return fail()
		case c.op == cTableExpire:
			return out(p.Expire)
		case c.op == cTableIdle:
			return out(p.Idle)
		}
		// HAProxy counts its own lookup's reference: one more than the
		// streams tracking the entry (2.6's sample_conv_table_trackers).
		return out(p.Trackers + 1)
	}
	dt, idx := stick.DataType(c.a.num[2]), 0
	if c.op == cTableAt {
		idx = int(c.a.num[0])
		if !tab.Stores(dt) {
			// The array forms never read gpc0, gpc1 or gpt0.
			idx = -1
		}
	}
	if idx < 0 || !tab.HasAt(dt, idx) {
		// HAProxy answers 0 for a missing key before it finds the data
		// is not stored; a present key then gives no value.
		if _, found := tab.PeekKey(key); found {
			return fail()
		}
		return out(0)
	}
	v, _ := tab.LookupAt(key, dt, idx)
	if c.op == cTableKBytes {
		v >>= 10
	}
	return out(int64(v))
}
