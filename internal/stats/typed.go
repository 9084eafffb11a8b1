package stats

import (
	"bufio"
	"io"
)

// WriteTyped writes snap as HAProxy's "show stat typed" (";typed" on the
// stats page): one line per non-empty field,
//
//	F.2.0.4.scur.1:MGP:u32:3
//
// that is objtype.iid.sid.pos.name.process:origin nature scope:type:value,
// with an empty line after each object.
func WriteTyped(w io.Writer, snap *Snapshot) error {
	return writeTyped(w, snap, Columns(), Filter{})
}

func writeTyped(w io.Writer, snap *Snapshot, cols []Column, f Filter) error {
	bw := bufio.NewWriter(w)
	pn := processNum(snap).String()
	for _, px := range snap.Proxies {
		for _, r := range f.rows(px) {
			for i := range cols {
				c := &cols[i]
				v := c.ValueOf(r, snap)
				if v.IsEmpty() {
					continue
				}
				bw.WriteByte(r.Kind.typedLetter())
				bw.WriteByte('.')
				bw.WriteString(itoa(r.IID))
				bw.WriteByte('.')
				bw.WriteString(itoa(r.SID))
				bw.WriteByte('.')
				bw.WriteString(itoa(i))
				bw.WriteByte('.')
				bw.WriteString(c.Name)
				bw.WriteByte('.')
				bw.WriteString(pn)
				bw.WriteByte(':')
				bw.Write([]byte{c.Origin.letter(), c.Nature.letter(), c.Scope.letter(), ':'})
				bw.WriteString(v.Type.String())
				bw.WriteByte(':')
				bw.WriteString(v.String())
				bw.WriteByte('\n')
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}
