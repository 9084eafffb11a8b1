package acl

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Fetches on response cookies, base hashes and the connection's first
// request.
func cookFetches() []fetchDef {
	return []fetchDef{
		{name: "res.cook", args: "S", out: tStr, need: NeedResp, multi: true, strOcc: -1, fn: fetchResCook,
			doc: "a cookie's value from the Set-Cookie headers (the name=value each begins with); last one in string context"},
		{name: "scook", args: "S", out: tStr, need: NeedResp, multi: true, strOcc: -1, fn: fetchResCook, doc: "alias of res.cook"},
		{name: "res.cook_cnt", args: "S", out: tInt, need: NeedResp, fn: fetchResCookCnt, doc: "number of Set-Cookie headers setting the cookie"},
		{name: "scook_cnt", args: "S", out: tInt, need: NeedResp, fn: fetchResCookCnt, doc: "alias of res.cook_cnt"},
		{name: "req.cook_val", args: "S", out: tInt, need: NeedReq, fn: cookVal(fetchCook), doc: "the last value of the request cookie as an integer (its leading digits)"},
		{name: "cook_val", args: "S", out: tInt, need: NeedReq, fn: cookVal(fetchCook), doc: "alias of req.cook_val"},
		{name: "res.cook_val", args: "S", out: tInt, need: NeedResp, fn: cookVal(fetchResCook), doc: "the last value of the response cookie as an integer"},
		{name: "scook_val", args: "S", out: tInt, need: NeedResp, fn: cookVal(fetchResCook), doc: "alias of res.cook_val"},
		{name: "base32", out: tInt, need: NeedReq, fn: fetchBase32,
			doc: "a 32-bit hash of the first Host value and the path (HAProxy's, so values match its)"},
		{name: "base32+src", out: tBin, need: NeedReq, fn: fetchBase32Src,
			doc: "base32 as 4 big-endian bytes followed by the client's address (4 or 16 bytes)"},
		{name: "http_first_req", out: tBool, need: NeedReq, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			return boolSmp(!t.NotFirst), c, fVal
		}, doc: "true for the first request of an HTTP/1 connection (every HTTP/2 stream's)"},
	}
}

// nextSetCookie returns the value of the next Set-Cookie header at or
// after c whose cookie is called name (any, when name is empty).
func nextSetCookie(h httpmsg.Headers, name string, c cursor) (string, cursor, bool) {
	for ; c.i < len(h); c.i++ {
		if !strings.EqualFold(h[c.i].Name, "Set-Cookie") {
			continue
		}
		pair, _, _ := strings.Cut(h[c.i].Value, ";")
		k, v, _ := strings.Cut(pair, "=")
		if k = trimLWS(k); k == "" {
			continue
		}
		if name == "" || k == name {
			return trimLWS(v), cursor{c.i + 1, 0}, true
		}
	}
	return "", c, false
}

func fetchResCook(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := resHeaders(t)
	if !ok {
		return sample{}, c, fNone
	}
	if a.occ == 0 {
		v, next, found := nextSetCookie(h, a.str[0], c)
		if !found {
			return sample{}, next, fNone
		}
		return strSmp(v), next, fVal
	}
	if c != (cursor{}) {
		return sample{}, c, fNone
	}
	last, found := "", false
	for cur := (cursor{}); ; {
		v, next, ok := nextSetCookie(h, a.str[0], cur)
		if !ok {
			break
		}
		last, found, cur = v, true, next
		if a.occ > 0 || a.str[0] == "" {
			break // the first
		}
	}
	if !found {
		return sample{}, cursor{-1, 0}, fNone
	}
	return strSmp(last), cursor{-1, 0}, fVal
}

func fetchResCookCnt(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := resHeaders(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	n := 0
	for cur := (cursor{}); ; n++ {
		var found bool
		if _, cur, found = nextSetCookie(h, a.str[0], cur); !found {
			break
		}
	}
	return intSmp(int64(n)), cursor{}, fVal
}

// cookVal turns a cookie fetch's last value into an integer, as HAProxy's
// *_cook_val do (strl2ic: leading sign and digits, 0 when none).
func cookVal(f fetchFn) fetchFn {
	return func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
		last := *a
		last.occ = -1
		s, _, r := f(t, &last, cursor{})
		if r != fVal {
			return sample{}, c, fNone
		}
		v := s.s
		end := 0
		if end < len(v) && (v[end] == '-' || v[end] == '+') {
			end++
		}
		for end < len(v) && v[end] >= '0' && v[end] <= '9' {
			end++
		}
		n, _ := strconv.ParseInt(v[:end], 10, 64)
		return intSmp(n), c, fVal
	}
}

// base32Hash is HAProxy's smp_fetch_base32: the first Host value and the
// path (when it starts with '/'), each byte mixed in as sdbm does, then
// full_hash.
func base32Hash(t *Txn) (uint32, bool) {
	if t.Req == nil {
		return 0, false
	}
	var h uint32
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h = uint32(s[i]) + (h << 6) + (h << 16) - h
		}
	}
	for i := range t.Req.Header {
		if strings.EqualFold(t.Req.Header[i].Name, "Host") {
			v, _, _ := strings.Cut(t.Req.Header[i].Value, ",")
			mix(trimLWS(v))
			break
		}
	}
	if p, ok := uriPath(t.Req.URI); ok && p[0] == '/' {
		mix(p)
	}
	return fullHash(h), true
}

// fullHash is Bob Jenkins' integer hash, HAProxy's full_hash.
func fullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473 // spread over the tree, as HAProxy
}

func fetchBase32(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := base32Hash(t)
	if !ok {
		return sample{}, c, fNone
	}
	return intSmp(int64(h)), c, fVal
}

func fetchBase32Src(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := base32Hash(t)
	if !ok || !t.Src.IsValid() {
		return sample{}, c, fNone
	}
	b := binary.BigEndian.AppendUint32(t.fbuf[:0], h)
	ip := t.Src.Addr()
	if ip.Is4() || ip.Is4In6() {
		a4 := ip.Unmap().As4()
		b = append(b, a4[:]...)
	} else {
		a16 := ip.As16()
		b = append(b, a16[:]...)
	}
	t.fbuf = b
	return sample{typ: tBin, s: view(b)}, c, fVal
}
