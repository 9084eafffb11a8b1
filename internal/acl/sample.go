package acl

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// smpType is the type of a sample, as HAProxy's sample types.
type smpType uint8

const (
	tStr smpType = iota
	tInt
	tBool
	tIP
	tBin
)

func (t smpType) String() string {
	switch t {
	case tInt:
		return "integer"
	case tBool:
		return "boolean"
	case tIP:
		return "ip"
	case tBin:
		return "binary"
	case tAny:
		return "any"
	case tSame:
		return "the input's"
	}
	return "string"
}

// sample is one fetched value. Strings may alias the request, the payload
// or a Txn scratch buffer: they are valid only until the next evaluation.
type sample struct {
	typ smpType
	s   string // tStr, tBin
	i   int64  // tInt, tBool (0/1)
	ip  netip.Addr
}

func strSmp(s string) sample    { return sample{typ: tStr, s: s} }
func intSmp(i int64) sample     { return sample{typ: tInt, i: i} }
func ipSmp(a netip.Addr) sample { return sample{typ: tIP, ip: a} }
func boolSmp(b bool) sample {
	if b {
		return sample{typ: tBool, i: 1}
	}
	return sample{typ: tBool}
}

// appendTo appends the string form of s (HAProxy's casts: booleans and
// integers in decimal, addresses in their usual text form, binary raw).
func (s sample) appendTo(dst []byte) []byte {
	switch s.typ {
	case tInt, tBool:
		return strconv.AppendInt(dst, s.i, 10)
	case tIP:
		return s.ip.AppendTo(dst)
	}
	return append(dst, s.s...)
}

// fres is what a fetch returns besides the value: whether there is one and
// whether it may still change (tcp inspection, like SMP_F_MAY_CHANGE).
type fres uint8

const (
	fNone fres = 0      // no value, and none will come
	fVal  fres = 1 << 0 // a value
	fMay  fres = 1 << 1 // more data may change the answer
)

// cursor walks the values of a multi-valued fetch. The zero cursor starts.
type cursor struct{ i, j int }

// view returns a string aliasing b without copying. The caller must not let
// it outlive the next write to b.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseIntPrefix reads a leading optionally signed decimal integer, as
// HAProxy casts strings to integers; ok is false when there is no digit.
func parseIntPrefix(s string) (int64, bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
