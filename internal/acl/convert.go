package acl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

type convOp uint8

const (
	cLower convOp = iota
	cUpper
	cField
	cWord
	cRegsub
	cLength
	cBase64
	cHex
	cBytes
	cIPMask
	cMap // map_* (convert_map.go)
)

// convDef describes one converter keyword.
type convDef struct {
	name string
	args string // as fetchDef.args
	out  smpType
	op   convOp
	doc  string
	mk   matchKind // map converters: how keys match
}

// convTable lists every converter.
func convTable() []convDef {
	return append([]convDef{
		{name: "lower", out: tStr, op: cLower, doc: "ASCII letters to lower case"},
		{name: "upper", out: tStr, op: cUpper, doc: "ASCII letters to upper case"},
		{name: "field", args: "isI", out: tStr, op: cField,
			doc: "field <index> (negative: from the end) split on any of <delimiters>; <count> fields, 0 for all the rest"},
		{name: "word", args: "isI", out: tStr, op: cWord,
			doc: "like field, but consecutive delimiters count as one and empty words are skipped"},
		{name: "regsub", args: "ssS", out: tStr, op: cRegsub,
			doc: "replace <regex> (RE2 syntax, not PCRE) with <subst> (\\1..\\9 back-references); flags g (all) and i (case-insensitive)"},
		{name: "length", out: tInt, op: cLength, doc: "the length in bytes"},
		{name: "base64", out: tStr, op: cBase64, doc: "base64 encoding (standard alphabet, padded)"},
		{name: "hex", out: tStr, op: cHex, doc: "upper-case hexadecimal encoding"},
		{name: "bytes", args: "iI", out: tBin, op: cBytes, doc: "<length> bytes (default: the rest) from <offset>"},
		{name: "ipmask", args: "sI", out: tIP, op: cIPMask, doc: "mask an address with an IPv4 mask (bits or dotted) and an optional IPv6 prefix length"},
	}, append(append(append(moreConvs(), varConvs()...), mapConvDefs()...), tableConvs()...)...)
}

// ConverterKeywords returns the converters Gatehouse knows, in table order.
func ConverterKeywords() []Keyword {
	var out []Keyword
	for _, c := range convTable() {
		out = append(out, Keyword{Name: c.name, Args: c.args, Type: c.out.String(), Doc: c.doc})
	}
	return out
}

// conv is a compiled converter.
type conv struct {
	op     convOp
	name   string
	out    smpType
	a      fetchArgs
	re     *regexp.Regexp
	global bool
	mask4  int
	mask6  int
	mp     *mapConv
	more   *moreConv // convert_more.go
	jpath  jsonPath  // json_query
	jwt    *jwtConv  // jwt_verify
}

var errNegative = errors.New("negative values are not allowed")

func compileConv(d *convDef, a fetchArgs) (conv, error) {
	if d.op > cVarFirst {
		return compileVarConv(d, a) // convert_var.go
	}
	if d.op > cTableFirst {
		return compileTableConv(d, a) // convert_table.go
	}
	if d.op > cMoreFirst {
		return compileMoreConv(d, a) // convert_more.go
	}
	c := conv{op: d.op, name: d.name, out: d.out, a: a}
	switch d.op {
	case cField, cWord:
		if a.num[0] == 0 {
			return c, errors.New("index must not be 0")
		}
		if a.str[1] == "" {
			return c, errors.New("delimiters must not be empty")
		}
		if a.num[2] < 0 {
			return c, errors.New("count must not be negative")
		}
		if a.n < 3 {
			c.a.num[2] = 1
		}
	case cRegsub:
		expr := a.str[0]
		for _, f := range a.str[2] {
			switch f {
			case 'g':
				c.global = true
			case 'i':
				expr = "(?i)" + expr
			default:
				return c, fmt.Errorf("invalid regex flag '%c', only 'g' and 'i' are supported", f)
			}
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return c, fmt.Errorf("invalid regex '%s' : %v", a.str[0], err)
		}
		c.re = re
	case cBytes:
		if a.num[0] < 0 || a.num[1] < 0 {
			return c, errNegative
		}
	case cIPMask:
		m, err := parseMask4(a.str[0])
		if err != nil {
			return c, err
		}
		c.mask4, c.mask6 = m, 128
		if a.n > 1 {
			if a.num[1] < 0 || a.num[1] > 128 {
				return c, fmt.Errorf("invalid IPv6 mask '%d'", a.num[1])
			}
			c.mask6 = int(a.num[1])
		}
	}
	return c, nil
}

// parseMask4 accepts a prefix length or a dotted netmask.
func parseMask4(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 32 {
		return n, nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n := 0
		for v&0x80000000 != 0 {
			n++
			v <<= 1
		}
		if v == 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("invalid IPv4 mask '%s'", s)
}

// apply converts b[start:] in place (b may grow); false when the converter
// cannot produce a value.
func (c *conv) apply(b []byte, start int) ([]byte, bool) {
	in := b[start:]
	switch c.op {
	case cLower:
		for i, ch := range in {
			if 'A' <= ch && ch <= 'Z' {
				in[i] = ch + 'a' - 'A'
			}
		}
	case cUpper:
		for i, ch := range in {
			if 'a' <= ch && ch <= 'z' {
				in[i] = ch - ('a' - 'A')
			}
		}
	case cField, cWord:
		var lo, hi int
		if c.op == cField {
			lo, hi = fieldRange(view(in), int(c.a.num[0]), c.a.str[1], int(c.a.num[2]))
		} else {
			lo, hi = wordRange(view(in), int(c.a.num[0]), c.a.str[1], int(c.a.num[2]))
		}
		n := copy(b[start:], in[lo:hi])
		b = b[:start+n]
	case cLength:
		b = strconv.AppendInt(b[:start], int64(len(in)), 10)
	case cBase64:
		n := len(b)
		b = base64.StdEncoding.AppendEncode(b, b[start:n])
		b = moveDown(b, start, n)
	case cHex:
		const digits = "0123456789ABCDEF"
		n := len(b)
		for i := start; i < n; i++ {
			b = append(b, digits[b[i]>>4], digits[b[i]&15])
		}
		b = moveDown(b, start, n)
	case cBytes:
		off, l := int(c.a.num[0]), int(c.a.num[1])
		if off > len(in) {
			return b[:start], false
		}
		end := len(in)
		if c.a.n > 1 && l > 0 {
			if off+l > len(in) {
				return b[:start], false
			}
			end = off + l
		}
		n := copy(b[start:], in[off:end])
		b = b[:start+n]
	case cRegsub:
		return c.regsub(b, start), true
	case cMap:
		return c.mp.apply(b, start)
	case cIPMask:
		a, err := netip.ParseAddr(trimLWS(view(in)))
		if err != nil {
			return b[:start], false
		}
		a = a.Unmap()
		bits := c.mask6
		if a.Is4() {
			bits = c.mask4
		}
		p, err := a.Prefix(bits)
		if err != nil {
			return b[:start], false
		}
		b = p.Addr().AppendTo(b[:start])
	}
	return b, true
}

// moveDown moves b[n:] to b[start:] and truncates.
func moveDown(b []byte, start, n int) []byte {
	m := copy(b[start:], b[n:])
	return b[:start+m]
}

func (c *conv) regsub(b []byte, start int) []byte {
	n := len(b)
	lim := 1
	if c.global {
		lim = -1
	}
	matches := c.re.FindAllSubmatchIndex(b[start:n], lim)
	if len(matches) == 0 {
		return b
	}
	last := 0
	for _, m := range matches {
		b = append(b, b[start+last:start+m[0]]...)
		b = expandSubst(b, c.a.str[1], b[start:n], m)
		last = m[1]
	}
	b = append(b, b[start+last:n]...)
	return moveDown(b, start, n)
}

// expandSubst appends subst with \0..\9 replaced by the groups of match m
// in src, \xHH by that byte and \\ by a backslash (HAProxy's exp_replace).
func expandSubst(dst []byte, subst string, src []byte, m []int) []byte {
	for i := 0; i < len(subst); i++ {
		ch := subst[i]
		if ch != '\\' || i+1 >= len(subst) {
			dst = append(dst, ch)
			continue
		}
		nx := subst[i+1]
		switch {
		case nx >= '0' && nx <= '9':
			g := int(nx - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				dst = append(dst, src[m[2*g]:m[2*g+1]]...)
			}
			i++
		case nx == '\\':
			dst = append(dst, '\\')
			i++
		case nx == 'x' && i+3 < len(subst):
			if v, err := strconv.ParseUint(subst[i+2:i+4], 16, 8); err == nil {
				dst = append(dst, byte(v))
				i += 3
			} else {
				dst = append(dst, ch)
			}
		default:
			dst = append(dst, ch)
		}
	}
	return dst
}

// fieldRange returns the bounds of field idx (1-based; negative from the
// end) and the count-1 following (preceding, for negative indexes) fields;
// count 0 takes every remaining field. Out of range gives an empty range.
func fieldRange(s string, idx int, delims string, count int) (int, int) {
	if idx > 0 {
		lo := 0
		for k := 1; k < idx; k++ {
			d := strings.IndexAny(s[lo:], delims)
			if d < 0 {
				return 0, 0
			}
			lo += d + 1
		}
		if count == 0 {
			return lo, len(s)
		}
		hi := lo
		for j := 0; j < count; j++ {
			d := strings.IndexAny(s[hi:], delims)
			if d < 0 {
				return lo, len(s)
			}
			if j == count-1 {
				return lo, hi + d
			}
			hi += d + 1
		}
		return lo, hi
	}
	hi := len(s)
	for k := 1; k < -idx; k++ {
		d := strings.LastIndexAny(s[:hi], delims)
		if d < 0 {
			return 0, 0
		}
		hi = d
	}
	if count == 0 {
		return 0, hi
	}
	lo := hi
	for j := 0; j < count; j++ {
		d := strings.LastIndexAny(s[:lo], delims)
		if d < 0 {
			return 0, hi
		}
		if j == count-1 {
			return d + 1, hi
		}
		lo = d
	}
	return lo, hi
}

// wordRange is fieldRange for words: runs of non-delimiters, so empty
// fields do not count.
func wordRange(s string, idx int, delims string, count int) (int, int) {
	isD := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	if idx > 0 {
		lo, hi, w := -1, -1, 0
		for i := 0; i < len(s); {
			for i < len(s) && isD(s[i]) {
				i++
			}
			if i >= len(s) {
				break
			}
			ws := i
			for i < len(s) && !isD(s[i]) {
				i++
			}
			w++
			if w == idx {
				lo = ws
			}
			if w >= idx {
				hi = i
				if count != 0 && w == idx+count-1 {
					break
				}
			}
		}
		if lo < 0 {
			return 0, 0
		}
		return lo, hi
	}
	lo, hi, w := -1, -1, 0
	for i := len(s); i > 0; {
		for i > 0 && isD(s[i-1]) {
			i--
		}
		if i == 0 {
			break
		}
		we := i
		for i > 0 && !isD(s[i-1]) {
			i--
		}
		w++
		if w == -idx {
			hi = we
		}
		if w >= -idx {
			lo = i
			if count != 0 && w == -idx+count-1 {
				break
			}
		}
	}
	if hi < 0 {
		return 0, 0
	}
	return lo, hi
}
