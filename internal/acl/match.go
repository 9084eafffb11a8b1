package acl

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// matchKind is an ACL matching method (-m).
type matchKind uint8

const (
	mNone  matchKind = iota // not chosen: by the sample's type
	mFound                  // the sample exists
	mBool                   // the sample is true / non-zero
	mInt                    // integer ranges and operators
	mVer                    // integer from dotted versions "3.1" (req_ssl_ver)
	mIP                     // addresses and networks
	mBin                    // hexadecimal byte strings
	mLen                    // the sample's length, as integers
	mStr                    // exact string
	mSub                    // substring
	mReg                    // regular expression (RE2)
	mBeg                    // prefix
	mEnd                    // suffix
	mDir                    // slash-delimited portion
	mDom                    // dot-delimited portion
	mRegm                   // map_regm: a regex whose groups the value may use (not for -m)
)

var matchNames = []string{"", "found", "bool", "int", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom", "regm"}

func (m matchKind) String() string { return matchNames[m] }

func parseMatchKind(s string) (matchKind, bool) {
	for i, n := range matchNames {
		if n == s && n != "" && matchKind(i) != mVer && matchKind(i) != mRegm {
			return matchKind(i), true
		}
	}
	return mNone, false
}

// defaultMatch is the matching method of a sample type without -m.
func defaultMatch(t smpType) matchKind {
	switch t {
	case tInt:
		return mInt
	case tBool:
		return mBool
	case tIP:
		return mIP
	case tBin:
		return mBin
	case tAny:
		return mNone
	}
	return mStr
}

// bigSet is the pattern count from which exact strings go into a map.
const bigSet = 8

type intRange struct{ lo, hi int64 }

// matcher tests samples against an ACL's patterns (ORed).
type matcher struct {
	kind  matchKind
	icase bool
	strs  []string            // str (small), sub, beg, end, dir, dom; lower-cased with -i
	set   map[string]struct{} // str (large)
	res   []*regexp.Regexp
	ints  []intRange // int, ver, len
	nets  []netip.Prefix
	bins  []string
}

// intOps are the operators of integer matching.
func intOp(s string) (string, bool) {
	switch s {
	case "eq", "ge", "gt", "le", "lt":
		return s, true
	}
	return "", false
}

func (m *matcher) addInt(op, p string, ver bool) error {
	parse := func(s string) (int64, error) {
		if ver {
			return parseDottedVer(s)
		}
		return strconv.ParseInt(s, 10, 64)
	}
	const minI, maxI = -1 << 63, 1<<63 - 1
	if lo, hi, ok := strings.Cut(p, ":"); ok && op == "eq" {
		r := intRange{minI, maxI}
		var err error
		if lo != "" {
			if r.lo, err = parse(lo); err != nil {
				return fmt.Errorf("'%s' is not a valid range", p)
			}
		}
		if hi != "" {
			if r.hi, err = parse(hi); err != nil {
				return fmt.Errorf("'%s' is not a valid range", p)
			}
		}
		m.ints = append(m.ints, r)
		return nil
	}
	v, err := parse(p)
	if err != nil {
		if ver {
			return fmt.Errorf("'%s' is not a valid version", p)
		}
		return fmt.Errorf("'%s' is not a number", p)
	}
	r := intRange{v, v}
	switch op {
	case "ge":
		r.hi = maxI
	case "gt":
		if v == maxI {
			return fmt.Errorf("'%s' is out of range", p)
		}
		r.lo, r.hi = v+1, maxI
	case "le":
		r.lo = minI
	case "lt":
		if v == minI {
			return fmt.Errorf("'%s' is out of range", p)
		}
		r.lo, r.hi = minI, v-1
	}
	m.ints = append(m.ints, r)
	return nil
}

// parseDottedVer parses "major[.minor]" into major<<16 | minor.
func parseDottedVer(s string) (int64, error) {
	maj, min, _ := strings.Cut(s, ".")
	a, err := strconv.ParseUint(maj, 10, 16)
	if err != nil {
		return 0, err
	}
	var b uint64
	if min != "" {
		if b, err = strconv.ParseUint(min, 10, 16); err != nil {
			return 0, err
		}
	}
	return int64(a<<16 | b), nil
}

// parseIPPattern accepts an address, addr/len and IPv4 addr/dotted-mask.
// Host names are not resolved. IPv4-mapped IPv6 networks become IPv4.
func parseIPPattern(s string) (netip.Prefix, error) {
	addr, mask, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", s)
	}
	bits := a.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(mask); err == nil && n >= 0 && n <= a.BitLen() {
			bits = n
		} else if n, err := parseMask4(mask); err == nil && a.Is4() && strings.Contains(mask, ".") {
			bits = n
		} else {
			return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", s)
		}
	}
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	return a.Prefix(bits)
}

// addPatterns compiles patterns with the flags of the ACL line.
func (m *matcher) addPatterns(pats []string, op string) error {
	for _, p := range pats {
		if m.kind == mInt || m.kind == mVer || m.kind == mLen {
			if o, ok := intOp(p); ok {
				op = o
				continue
			}
			if err := m.addInt(op, p, m.kind == mVer); err != nil {
				return err
			}
			continue
		}
		switch m.kind {
		case mFound, mBool:
			return fmt.Errorf("'-m %s' takes no pattern, got '%s'", m.kind, p)
		case mIP:
			n, err := parseIPPattern(p)
			if err != nil {
				return err
			}
			m.nets = append(m.nets, n)
		case mBin:
			b, err := hex.DecodeString(p)
			if err != nil {
				return fmt.Errorf("'%s' is not a valid hexadecimal string", p)
			}
			m.bins = append(m.bins, string(b))
		case mReg:
			expr := p
			if m.icase {
				expr = "(?i)" + p
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return fmt.Errorf("regex '%s' is invalid (RE2 syntax) : %v", p, err)
			}
			m.res = append(m.res, re)
		default:
			if m.icase {
				p = strings.ToLower(p)
			}
			if m.kind == mDir || m.kind == mDom {
				p = trimDelims(p, delimsOf(m.kind))
			}
			m.strs = append(m.strs, p)
		}
	}
	if m.kind == mStr && len(m.strs) > bigSet {
		m.set = make(map[string]struct{}, len(m.strs))
		for _, s := range m.strs {
			m.set[s] = struct{}{}
		}
		m.strs = nil
	}
	return nil
}

func delimsOf(k matchKind) string {
	if k == mDom {
		return "/?.:"
	}
	return "/?"
}

func trimDelims(p, delims string) string {
	for len(p) > 0 && strings.IndexByte(delims, p[0]) >= 0 {
		p = p[1:]
	}
	for len(p) > 0 && strings.IndexByte(delims, p[len(p)-1]) >= 0 {
		p = p[:len(p)-1]
	}
	return p
}

// match tests s; scratch is spare space for casts (returned, maybe grown).
func (m *matcher) match(s sample, scratch []byte) (bool, []byte) {
	switch m.kind {
	case mFound:
		return true, scratch
	case mBool:
		switch s.typ {
		case tInt, tBool:
			return s.i != 0, scratch
		case tIP:
			return false, scratch
		}
		v, _ := parseIntPrefix(s.s)
		return v != 0, scratch
	case mInt, mVer:
		var v int64
		switch s.typ {
		case tInt, tBool:
			v = s.i
		case tIP:
			return false, scratch
		default:
			var ok bool
			if v, ok = parseIntPrefix(trimLWS(s.s)); !ok {
				return false, scratch
			}
		}
		return m.matchInt(v), scratch
	case mIP:
		a := s.ip
		if s.typ != tIP {
			if s.typ != tStr {
				return false, scratch
			}
			var err error
			if a, err = netip.ParseAddr(trimLWS(s.s)); err != nil {
				return false, scratch
			}
		}
		a = a.Unmap()
		for _, n := range m.nets {
			if n.Contains(a) {
				return true, scratch
			}
		}
		return false, scratch
	}
	// string methods: cast non-strings to their text
	str := s.s
	if s.typ != tStr && s.typ != tBin {
		n := len(scratch)
		scratch = s.appendTo(scratch)
		str = view(scratch[n:])
	}
	switch m.kind {
	case mLen:
		return m.matchInt(int64(len(str))), scratch
	case mBin:
		for _, b := range m.bins {
			if str == b {
				return true, scratch
			}
		}
		return false, scratch
	case mReg:
		for _, re := range m.res {
			if re.MatchString(str) {
				return true, scratch
			}
		}
		return false, scratch
	case mStr:
		if m.set != nil {
			if !m.icase {
				_, ok := m.set[str]
				return ok, scratch
			}
			n := len(scratch)
			scratch = appendLower(scratch, str)
			_, ok := m.set[string(scratch[n:])]
			return ok, scratch
		}
		for _, p := range m.strs {
			if len(p) == len(str) && (p == str || m.icase && strings.EqualFold(p, str)) {
				return true, scratch
			}
		}
	case mBeg:
		for _, p := range m.strs {
			if len(str) >= len(p) && (str[:len(p)] == p || m.icase && strings.EqualFold(str[:len(p)], p)) {
				return true, scratch
			}
		}
	case mEnd:
		for _, p := range m.strs {
			if t := len(str) - len(p); t >= 0 && (str[t:] == p || m.icase && strings.EqualFold(str[t:], p)) {
				return true, scratch
			}
		}
	case mSub:
		for _, p := range m.strs {
			if containsFold(str, p, m.icase) {
				return true, scratch
			}
		}
	case mDir, mDom:
		d := delimsOf(m.kind)
		for _, p := range m.strs {
			if matchWord(str, p, d, m.icase) {
				return true, scratch
			}
		}
	}
	return false, scratch
}

func (m *matcher) matchInt(v int64) bool {
	for _, r := range m.ints {
		if v >= r.lo && v <= r.hi {
			return true
		}
	}
	return false
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// containsFold is strings.Contains, ASCII case-insensitive when icase (p is
// already lower case then).
func containsFold(s, p string, icase bool) bool {
	if !icase {
		return strings.Contains(s, p)
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(p)], p) {
			return true
		}
	}
	return false
}

// matchWord reports whether p occurs in s delimited on both sides by one of
// delims or by the ends of s (HAProxy's match_word for -m dir / -m dom).
func matchWord(s, p, delims string, icase bool) bool {
	if p == "" || len(p) > len(s) {
		return false
	}
	isD := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	mayMatch := true
	for i := 0; i+len(p) <= len(s); i++ {
		if isD(s[i]) {
			mayMatch = true
			continue
		}
		if !mayMatch {
			continue
		}
		mayMatch = false
		w := s[i : i+len(p)]
		if (w == p || icase && strings.EqualFold(w, p)) && (i+len(p) == len(s) || isD(s[i+len(p)])) {
			return true
		}
	}
	return false
}
