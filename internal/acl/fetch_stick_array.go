package acl

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// The fetches of HAProxy 2.6's gpc, gpc_rate and gpt arrays, in the sc_
// and src_ forms (no sc0_..sc2_ forms exist for them): element <idx> (0 to
// 99) of the array itself, never the legacy gpc0, gpc1 or gpt0. Also the
// src_ forms of the legacy increments and clears, which make the client
// address's entry when it is missing, as HAProxy's.

func stickArrayFetches() []fetchDef {
	var out []fetchDef
	for _, r := range []struct {
		name string
		d    stick.DataType
		doc  string
	}{
		{"get_gpc", stick.GPC, "element <idx> of the gpc array"},
		{"gpc_rate", stick.GPCRate, "element <idx> of the gpc_rate array, the increment rate of gpc <idx> over the table's period"},
		{"get_gpt", stick.GPT, "element <idx> of the gpt array"},
	} {
		d := r.d
		out = append(out,
			fetchDef{name: "sc_" + r.name, args: "iiS", out: tInt, check: checkSCIdxArgs, doc: "sc_" + r.name + "(<idx>,<ctr>[,<table>]): " + r.doc + " of the entry tracked by <ctr>",
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
					return scRead(t, int(a.num[1]), a.str[2], d, int(a.num[0]), 0)
				}},
			fetchDef{name: "src_" + r.name, args: "iS", out: tInt, need: NeedConn, check: checkIdxArg, doc: "src_" + r.name + "(<idx>[,<table>]): " + r.doc + " of the client address's entry",
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
					return srcRead(t, a.str[1], d, int(a.num[0]), 0)
				}})
	}
	for _, clr := range []bool{false, true} {
		clr := clr
		verb, doc := "inc", "increments element <idx> of the gpc array (and of gpc_rate) and returns its new value"
		if clr {
			verb, doc = "clr", "sets element <idx> of the gpc array to 0 and returns its previous value"
		}
		out = append(out,
			fetchDef{name: "sc_" + verb + "_gpc", args: "iiS", out: tInt, check: checkSCIdxArgs, doc: "sc_" + verb + "_gpc(<idx>,<ctr>[,<table>]): " + doc + ", in the entry tracked by <ctr> or its key's entry in <table>",
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
					return scUpdateAt(t, int(a.num[1]), a.str[2], int(a.num[0]), clr)
				}},
			fetchDef{name: "src_" + verb + "_gpc", args: "iS", out: tInt, need: NeedConn, check: checkIdxArg, doc: "src_" + verb + "_gpc(<idx>[,<table>]): " + doc + ", in the client address's entry (made when missing)",
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
					return srcUpdate(t, a.str[1], int(a.num[0]), true, clr)
				}})
		for idx := 0; idx < 2; idx++ {
			idx := idx
			d := fmt.Sprintf("increments gpc%d (and gpc%d_rate) of the client address's entry (made when missing) and returns its new value", idx, idx)
			if clr {
				d = fmt.Sprintf("sets gpc%d of the client address's entry (made when missing) to 0 and returns its previous value", idx)
			}
			out = append(out, fetchDef{name: fmt.Sprintf("src_%s_gpc%d", verb, idx), args: "S", out: tInt, need: NeedConn, doc: d,
				fn: func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
					return srcUpdate(t, a.str[0], idx, false, clr)
				}})
		}
	}
	return out
}

func checkIdxArg(a *fetchArgs) error {
	if a.num[0] < 0 || a.num[0] >= stick.MaxArray {
		return fmt.Errorf("invalid array index %d (expected 0 to %d)", a.num[0], stick.MaxArray-1)
	}
	return nil
}

func checkSCIdxArgs(a *fetchArgs) error {
	if err := checkIdxArg(a); err != nil {
		return err
	}
	if a.num[1] < 0 || a.num[1] >= stick.Slots {
		return fmt.Errorf("invalid stick counter %d (expected 0 to %d)", a.num[1], stick.Slots-1)
	}
	return nil
}

// scUpdateAt increments or clears gpc element idx of the entry counter n
// tracks, or of its key's entry in table (never made there).
func scUpdateAt(t *Txn, n int, table string, idx int, clr bool) (sample, cursor, fres) {
	s := t.Stick
	if s == nil {
		return sample{}, cursor{}, fNone
	}
	tab, ok := s.Tracking(n)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	var v uint64
	switch other := s.Table(table); {
	case table != "" && other == nil:
		return sample{}, cursor{}, fNone
	case table != "" && other != tab:
		if clr {
			v, ok = other.ClearGPCKey(s.Key(n), idx, true, false)
		} else {
			v, ok = other.IncGPCKey(s.Key(n), idx, true, false)
		}
	case clr:
		v, ok = s.ClearGPCAt(n, idx)
	default:
		v, ok = s.IncGPCAt(n, idx)
	}
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(v)), cursor{}, fVal
}

// srcUpdate increments or clears a gpc counter of the client address's
// entry, making it when missing.
func srcUpdate(t *Txn, table string, idx int, array, clr bool) (sample, cursor, fres) {
	s := t.Stick
	if s == nil || !t.Src.IsValid() {
		return sample{}, cursor{}, fNone
	}
	tab := s.Table(table)
	if tab == nil {
		return sample{}, cursor{}, fNone
	}
	key, ok := srcKey(tab, t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	var v uint64
	if clr {
		v, ok = tab.ClearGPCKey(key, idx, array, true)
	} else {
		v, ok = tab.IncGPCKey(key, idx, array, true)
	}
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(v)), cursor{}, fVal
}
