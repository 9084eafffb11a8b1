package stats

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// jsonIntMax bounds JSON integers as HAProxy does (RFC 7159 section 6).
const jsonIntMax = 1<<53 - 1

// WriteJSON writes snap as HAProxy's "show stat json" (also ";json" on the
// stats page): an array with one array per row, holding one object per
// non-empty field:
//
//	{"objType":"Server","proxyId":2,"id":1,"field":{"pos":4,"name":"scur"},
//	 "processNum":1,"tags":{"origin":"Metric","nature":"Gauge","scope":"Process"},
//	 "value":{"type":"u32","value":0}}
func WriteJSON(w io.Writer, snap *Snapshot) error {
	return writeJSON(w, snap, Columns(), Filter{})
}

func writeJSON(w io.Writer, snap *Snapshot, cols []Column, f Filter) error {
	bw := bufio.NewWriter(w)
	pn := processNum(snap).U
	bw.WriteByte('[')
	first := true
	for _, px := range snap.Proxies {
		for _, r := range f.rows(px) {
			if !first {
				bw.WriteByte(',')
			}
			first = false
			bw.WriteByte('[')
			n := 0
			for i := range cols {
				c := &cols[i]
				v := c.ValueOf(r, snap)
				if v.IsEmpty() {
					continue
				}
				if n > 0 {
					bw.WriteByte(',')
				}
				n++
				fmt.Fprintf(bw, `{"objType":"%s","proxyId":%d,"id":%d,"field":{"pos":%d,"name":"%s"},"processNum":%d,`+
					`"tags":{"origin":"%s","nature":"%s","scope":"%s"},"value":{"type":"%s","value":`,
					r.Kind, r.IID, r.SID, i, c.Name, pn, c.Origin, c.Nature, c.Scope, v.Type)
				writeJSONValue(bw, v)
				bw.WriteString("}}")
			}
			bw.WriteByte(']')
		}
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

func writeJSONValue(bw *bufio.Writer, v Value) {
	switch v.Type {
	case TStr:
		q, _ := json.Marshal(v.S) // a string always marshals
		bw.Write(q)
	case TU32, TU64:
		bw.WriteString(strconv.FormatUint(min(v.U, jsonIntMax), 10))
	case TS32, TS64:
		bw.WriteString(strconv.FormatInt(max(min(v.I, jsonIntMax), -jsonIntMax), 10))
	default:
		bw.WriteString(v.String())
	}
}
