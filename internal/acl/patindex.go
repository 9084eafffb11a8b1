package acl

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/maps"
)

// patIndex indexes a pattern file's entries for one matching method, as
// HAProxy's pattern_expr does: exact strings (str, bin, and the words of
// dir and dom), prefixes and suffixes in hash tables by length, addresses
// in one table per prefix length, the rest (sub, reg, regm, int, len) in a
// list in file order. Lookups give HAProxy's answer: the first entry in file
// order, except for beg and ip where its trees give the longest match.
// Every method runs with the Ref's read lock held (Insert and Remove with
// its write lock), so the structures need no lock of their own.
type patIndex struct {
	ref   *maps.Ref
	kind  matchKind
	icase bool
	out   smpType // a map's value type; tStr for ACL files (no value)
	isMap bool

	exact map[string][]*pent // str, bin, dir, dom, beg, end (key: the pattern)
	lens  []int              // beg, end, dir, dom: the distinct key lengths, longest first
	nlen  map[int]int        // how many keys have each length
	lbits [8]uint64          // lengths below 512 present in lens, for a quick test
	v4    map[int]map[[4]byte][]*pent
	v6    map[int]map[[16]byte][]*pent
	v4len []int // prefix lengths present, longest first
	v6len []int
	list  []*pent // sub, reg, regm, int, ver, len: in id order
}

// pent is an entry as indexed: its key compiled for the method and its
// value parsed for the map's output type.
type pent struct {
	id  uint64
	e   *maps.Entry
	key string // the normalized pattern (hash kinds)
	re  *regexp.Regexp
	rng intRange
	net netip.Prefix
	val sample // the map's value
}

func newPatIndex(ref *maps.Ref, kind matchKind, icase bool, out smpType, isMap bool) *patIndex {
	return &patIndex{ref: ref, kind: kind, icase: icase, out: out, isMap: isMap}
}

// compile builds the entry as this index sees it.
func (ix *patIndex) compile(key, value string) (*pent, error) {
	p := &pent{}
	switch ix.kind {
	case mInt, mVer, mLen:
		var m matcher
		if err := m.addInt("eq", key, ix.kind == mVer); err != nil {
			return nil, err
		}
		p.rng = m.ints[0]
	case mIP:
		n, err := parseIPPattern(key)
		if err != nil {
			return nil, err
		}
		p.net = n
	case mBin:
		b, err := hex.DecodeString(key)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a valid hexadecimal string", key)
		}
		p.key = string(b)
	case mReg, mRegm:
		expr := key
		if ix.icase {
			expr = "(?i)" + key
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("regex '%s' is invalid (RE2 syntax) : %v", key, err)
		}
		p.re = re
	case mFound, mBool:
		return nil, fmt.Errorf("'-m %s' takes no pattern, got '%s'", ix.kind, key)
	default:
		k := key
		if ix.icase {
			k = strings.ToLower(k)
		}
		if ix.kind == mDir || ix.kind == mDom {
			k = trimDelims(k, delimsOf(ix.kind))
		}
		p.key = k
	}
	if ix.isMap {
		switch ix.out {
		case tInt:
			v, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("unable to parse '%s'", value)
			}
			p.val = intSmp(v)
		case tIP:
			a, err := netip.ParseAddr(value)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("unable to parse '%s'", value)
			}
			p.val = ipSmp(a)
		default:
			p.val = strSmp(value)
		}
	}
	return p, nil
}

func (ix *patIndex) Check(key, value string) error {
	_, err := ix.compile(key, value)
	return err
}

// insertSorted puts p in s by id.
func insertSorted(s []*pent, p *pent) []*pent {
	i, _ := slices.BinarySearchFunc(s, p.id, func(a *pent, id uint64) int { return cmpU64(a.id, id) })
	return slices.Insert(s, i, p)
}

func removeID(s []*pent, id uint64) []*pent {
	i, ok := slices.BinarySearchFunc(s, id, func(a *pent, id uint64) int { return cmpU64(a.id, id) })
	if !ok {
		return s
	}
	s = slices.Delete(s, i, i+1)
	return s
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// addLen counts a key length (beg, end, ip prefix lengths) and keeps the
// distinct lengths sorted longest first.
func addLen(lens []int, count map[int]int, n int) []int {
	count[n]++
	if count[n] == 1 {
		i, _ := slices.BinarySearchFunc(lens, n, func(a, b int) int { return b - a })
		lens = slices.Insert(lens, i, n)
	}
	return lens
}

func delLen(lens []int, count map[int]int, n int) []int {
	count[n]--
	if count[n] <= 0 {
		delete(count, n)
		if i := slices.Index(lens, n); i >= 0 {
			lens = slices.Delete(lens, i, i+1)
		}
	}
	return lens
}

func (ix *patIndex) Insert(e *maps.Entry) {
	p, err := ix.compile(e.Key, e.Value)
	if err != nil {
		return // Check refused it before the Ref inserted it
	}
	p.id, p.e = e.ID(), e
	switch ix.kind {
	case mStr, mBin, mDir, mDom, mBeg, mEnd:
		if ix.exact == nil {
			ix.exact, ix.nlen = make(map[string][]*pent), make(map[int]int)
		}
		ix.exact[p.key] = insertSorted(ix.exact[p.key], p)
		if ix.kind != mStr && ix.kind != mBin {
			ix.lens = addLen(ix.lens, ix.nlen, len(p.key))
			ix.setLenBits()
		}
	case mIP:
		if ix.nlen == nil {
			ix.nlen = make(map[int]int)
			ix.v4, ix.v6 = make(map[int]map[[4]byte][]*pent), make(map[int]map[[16]byte][]*pent)
		}
		bits := p.net.Bits()
		if p.net.Addr().Is4() {
			t := ix.v4[bits]
			if t == nil {
				t = make(map[[4]byte][]*pent)
				ix.v4[bits] = t
			}
			k := p.net.Addr().As4()
			t[k] = insertSorted(t[k], p)
			ix.v4len = addLen(ix.v4len, ix.nlen, bits)
		} else {
			t := ix.v6[bits]
			if t == nil {
				t = make(map[[16]byte][]*pent)
				ix.v6[bits] = t
			}
			k := p.net.Addr().As16()
			t[k] = insertSorted(t[k], p)
			ix.v6len = addLen(ix.v6len, ix.nlen, 1000+bits) // 1000+: v6 counts apart from v4
		}
	default:
		ix.list = insertSorted(ix.list, p)
	}
}

func (ix *patIndex) Remove(e *maps.Entry) {
	id := e.ID()
	switch ix.kind {
	case mStr, mBin, mDir, mDom, mBeg, mEnd:
		p, err := ix.compile(e.Key, e.Value)
		if err != nil {
			return
		}
		s := ix.exact[p.key]
		n := len(s)
		if s = removeID(s, id); len(s) == n {
			return
		}
		if len(s) == 0 {
			delete(ix.exact, p.key)
		} else {
			ix.exact[p.key] = s
		}
		if ix.kind != mStr && ix.kind != mBin {
			ix.lens = delLen(ix.lens, ix.nlen, len(p.key))
			ix.setLenBits()
		}
	case mIP:
		n, err := parseIPPattern(e.Key)
		if err != nil {
			return
		}
		bits := n.Bits()
		if n.Addr().Is4() {
			t, k := ix.v4[bits], n.Addr().As4()
			l := len(t[k])
			if t[k] = removeID(t[k], id); len(t[k]) == l {
				return
			}
			if len(t[k]) == 0 {
				delete(t, k)
			}
			ix.v4len = delLen(ix.v4len, ix.nlen, bits)
		} else {
			t, k := ix.v6[bits], n.Addr().As16()
			l := len(t[k])
			if t[k] = removeID(t[k], id); len(t[k]) == l {
				return
			}
			if len(t[k]) == 0 {
				delete(t, k)
			}
			ix.v6len = delLen(ix.v6len, ix.nlen, 1000+bits)
		}
	default:
		ix.list = removeID(ix.list, id)
	}
}

func (ix *patIndex) setLenBits() {
	ix.lbits = [8]uint64{}
	for _, l := range ix.lens {
		if l < 512 {
			ix.lbits[l>>6] |= 1 << (l & 63)
		}
	}
}

// hasLen reports whether some key has length l.
func (ix *patIndex) hasLen(l int) bool {
	if l < 512 {
		return ix.lbits[l>>6]&(1<<(l&63)) != 0
	}
	return ix.nlen[l] > 0
}

func (ix *patIndex) Clear() {
	ix.lbits = [8]uint64{}
	ix.exact, ix.lens, ix.nlen = nil, nil, nil
	ix.v4, ix.v6, ix.v4len, ix.v6len = nil, nil, nil, nil
	ix.list = nil
}

// find returns the entry matching s (nil when none) and whether a tree
// found it; scratch is spare space (returned, maybe grown). The caller holds
// the Ref's read lock.
func (ix *patIndex) find(s sample, scratch []byte) (*pent, bool, []byte) {
	switch ix.kind {
	case mIP:
		a := s.ip
		if s.typ != tIP {
			str := s.s
			if s.typ != tStr {
				return nil, false, scratch
			}
			var err error
			if a, err = netip.ParseAddr(trimLWS(str)); err != nil {
				return nil, false, scratch
			}
		}
		return ix.findIP(a), true, scratch
	case mInt, mVer, mLen:
		var v int64
		switch s.typ {
		case tInt, tBool:
			v = s.i
		case tIP:
			return nil, false, scratch
		default:
			if ix.kind == mLen {
				v = int64(len(s.s))
				break
			}
			var ok bool
			if v, ok = parseIntPrefix(trimLWS(s.s)); !ok {
				return nil, false, scratch
			}
		}
		for _, p := range ix.list {
			if v >= p.rng.lo && v <= p.rng.hi {
				return p, false, scratch
			}
		}
		return nil, false, scratch
	}
	str := s.s
	if s.typ != tStr && s.typ != tBin {
		n := len(scratch)
		scratch = s.appendTo(scratch)
		str = view(scratch[n:])
	}
	if ix.icase && ix.kind != mReg && ix.kind != mRegm {
		n := len(scratch)
		scratch = appendLower(scratch, str)
		str = view(scratch[n:])
	}
	switch ix.kind {
	case mStr, mBin:
		if s := ix.exact[str]; len(s) > 0 {
			return s[0], !ix.icase, scratch
		}
	case mBeg:
		// HAProxy's prefix tree: the longest prefix wins
		for _, l := range ix.lens {
			if l <= len(str) {
				if s := ix.exact[str[:l]]; len(s) > 0 {
					return s[0], !ix.icase, scratch
				}
			}
		}
	case mEnd:
		var best *pent
		for _, l := range ix.lens {
			if l <= len(str) {
				if s := ix.exact[str[len(str)-l:]]; len(s) > 0 && (best == nil || s[0].id < best.id) {
					best = s[0]
				}
			}
		}
		return best, false, scratch
	case mDir, mDom:
		return ix.findWord(str, ix.kind == mDom), false, scratch
	case mSub:
		for _, p := range ix.list {
			if strings.Contains(str, p.key) {
				return p, false, scratch
			}
		}
	case mReg, mRegm:
		for _, p := range ix.list {
			if p.re.MatchString(str) {
				return p, false, scratch
			}
		}
	}
	return nil, false, scratch
}

// findWord finds the first entry (in file order) equal to a run of words of
// s: every substring that starts at a word's start and ends at a word's end
// (HAProxy's match_word, which a pattern matches when it occurs delimited
// on both sides).
func (ix *patIndex) findWord(s string, dom bool) *pent {
	if len(ix.lens) == 0 {
		return nil
	}
	var sbuf, ebuf [32]int
	starts, ends := sbuf[:0], ebuf[:0]
	prevD := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		d := c == '/' || c == '?' || dom && (c == '.' || c == ':')
		if !d && prevD {
			starts = append(starts, i)
		} else if d && !prevD {
			ends = append(ends, i)
		}
		prevD = d
	}
	if !prevD {
		ends = append(ends, len(s))
	}
	var best *pent
	maxLen := ix.lens[0]
	for _, i := range starts {
		for _, j := range ends {
			if j <= i || !ix.hasLen(j-i) {
				if j-i > maxLen {
					break
				}
				continue
			}
			if p := ix.exact[s[i:j]]; len(p) > 0 && (best == nil || p[0].id < best.id) {
				best = p[0]
			}
		}
	}
	return best
}

// findIP is HAProxy's pat_match_ip over its trees: an IPv4 address in the
// IPv4 table (longest prefix), then as ::ffff:a.b.c.d in the IPv6 one; an
// IPv6 address in the IPv6 table, then, if it maps an IPv4 one, the IPv4.
func (ix *patIndex) findIP(a netip.Addr) *pent {
	look4 := func(a netip.Addr) *pent {
		for _, bits := range ix.v4len {
			p, _ := a.Prefix(bits)
			if s := ix.v4[bits][p.Addr().As4()]; len(s) > 0 {
				return s[0]
			}
		}
		return nil
	}
	look6 := func(a netip.Addr) *pent {
		for _, l := range ix.v6len {
			bits := l - 1000
			p, _ := a.Prefix(bits)
			if s := ix.v6[bits][p.Addr().As16()]; len(s) > 0 {
				return s[0]
			}
		}
		return nil
	}
	if a.Is4() {
		if p := look4(a); p != nil {
			return p
		}
		return look6(netip.AddrFrom16(a.As16()))
	}
	if p := look6(a); p != nil {
		return p
	}
	if a.Is4In6() {
		return look4(a.Unmap())
	}
	return nil
}

// Probe answers "get map|acl" for this index.
func (ix *patIndex) Probe(input string) maps.Probe {
	pr := maps.Probe{Method: ix.kind.String(), ICase: ix.icase}
	if ix.kind == mVer {
		pr.Method = "int"
	}
	ix.ref.RLock()
	defer ix.ref.RUnlock()
	in := strSmp(input)
	if ix.kind == mInt || ix.kind == mVer {
		v, ok := castStrInt(input)
		if !ok {
			return pr
		}
		in = intSmp(v)
	}
	p, tree, _ := ix.find(in, nil)
	if p == nil {
		return pr
	}
	pr.Found, pr.Tree, pr.Key = true, tree, p.e.Key
	if ix.isMap {
		pr.HasVal, pr.Value = true, p.e.Value
		switch p.val.typ {
		case tInt:
			pr.Type = "sint"
		case tIP:
			pr.Type = "ipv4"
			if !p.val.ip.Is4() {
				pr.Type = "ipv6"
			}
		default:
			pr.Type = "str"
		}
	}
	return pr
}
