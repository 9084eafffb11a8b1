package acl

import "encoding/binary"

// AppendBinary appends the expression's value cast to binary, as HAProxy's
// sample_fetch_as_type(..., SMP_T_BIN) gives it to "balance hash": a
// string's bytes, an integer as 8 bytes in network order, an IPv4 address
// as its 4 bytes and an IPv6 one as 16; false (dst unchanged) when there
// is no value.
func (e *Expr) AppendBinary(dst []byte, t *Txn) ([]byte, bool) {
	s, _, r := e.fetch.fn(t, &e.args, cursor{})
	if r&fVal == 0 {
		return dst, false
	}
	s, ok := e.value(t, s)
	if !ok {
		return dst, false
	}
	switch s.typ {
	case tInt, tBool:
		return binary.BigEndian.AppendUint64(dst, uint64(s.i)), true
	case tIP:
		if a := s.ip; a.Is4() {
			b := a.As4()
			return append(dst, b[:]...), true
		}
		b := s.ip.As16()
		return append(dst, b[:]...), true
	}
	return append(dst, s.s...), true
}
