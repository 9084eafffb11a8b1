// Package httpcache is HAProxy 2.6's HTTP cache (configuration.txt section
// 6): the decisions on what may be stored and served, and a bounded store
// of 1 kB blocks with oldest-first eviction. The proxy package runs it.
package httpcache

import (
	"crypto/sha1"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Key is HAProxy's primary key: SHA-1 of "https://" + Host + URI for an
// origin-form target, or of the absolute URI (sha1_hosturi).
type Key [sha1.Size]byte

// RequestKey computes the key; ok is false when it cannot be built (no
// Host header on a relative target, an empty target).
func RequestKey(uri string, h httpmsg.Headers) (Key, bool) {
	if uri == "" {
		return Key{}, false
	}
	if strings.HasPrefix(uri, "/") || uri == "*" {
		host, ok := h.Get("Host")
		if !ok {
			return Key{}, false
		}
		return sha1.Sum([]byte("https://" + host + uri)), true
	}
	return sha1.Sum([]byte(uri)), true
}

// Txn holds HAProxy's per-transaction cache flags (TX_CACHEABLE,
// TX_CACHE_COOK, TX_CACHE_IGNORE).
type Txn struct {
	Cacheable, Cook, Ignore bool
}

// CheckRequest is http_action_req_cache_use's request checks with
// http_check_request_for_cacheability: only GET and HEAD of HTTP/1.1 or
// later are served; Authorization, request Cache-Control directives and
// "Pragma: no-cache" turn the cache off for the request.
func CheckRequest(method string, http11 bool, h httpmsg.Headers) Txn {
	var t Txn
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		t.Cacheable, t.Cook = true, true
	}
	if !http11 || (method != "GET" && method != "HEAD") {
		t.Ignore = true
	}
	if !t.Cacheable && t.Ignore {
		return t
	}
	pragma := false
	if v, ok := h.Get("Pragma"); ok && strings.EqualFold(strings.TrimSpace(v), "no-cache") {
		pragma = true
	}
	if h.Has("Authorization") {
		t.Cacheable, t.Cook, t.Ignore = false, false, true
	}
	ccFound := false
	for _, v := range listValues(h, "Cache-Control") {
		ccFound = true
		switch {
		case hasPrefixFold(v, "max-age"), hasPrefixFold(v, "no-cache"), hasPrefixFold(v, "max-stale"), hasPrefixFold(v, "min-fresh"):
			t.Ignore = true
		case hasPrefixFold(v, "no-store"):
			t.Cacheable, t.Cook = false, false
		}
	}
	if !ccFound && pragma {
		t.Ignore = true
	}
	return t
}

// CheckResponse is http_check_response_for_cacheability on a 200 response:
// it updates the request's flags from the response's Pragma and
// Cache-Control, and ignores a response with neither an explicit
// expiration nor a validator.
func (t *Txn) CheckResponse(h httpmsg.Headers) {
	if v, ok := h.Get("Pragma"); ok && strings.EqualFold(strings.TrimSpace(v), "no-cache") {
		t.Cacheable, t.Cook = false, false
		return
	}
	fresh := false
	for _, v := range listValues(h, "Cache-Control") {
		switch {
		case strings.EqualFold(v, "public"):
			t.Cacheable, t.Cook = true, true
		case strings.EqualFold(v, "private"), strings.EqualFold(v, "no-cache"), strings.EqualFold(v, "no-store"),
			strings.EqualFold(v, "max-age=0"), strings.EqualFold(v, "s-maxage=0"):
			t.Cacheable, t.Cook = false, false
		case hasPrefixFold(v, `no-cache="set-cookie`):
			t.Cook = false
		case hasPrefixFold(v, "s-maxage"), hasPrefixFold(v, "max-age"):
			fresh = true
		}
	}
	if !fresh {
		fresh = h.Has("Expires")
	}
	if !fresh && !h.Has("ETag") && !h.Has("Last-Modified") {
		t.Ignore = true
	}
}

// Storable reports whether the flags allow storing.
func (t Txn) Storable() bool { return t.Cacheable && t.Cook && !t.Ignore }

// MaxAge is http_calc_maxage: the entry's lifetime, the lower of the
// response's s-maxage, max-age or Expires and the cache's max-age, and
// the response's own (trueAge, to judge its Age header). ok is false for
// a malformed directive (HAProxy then stores an already stale entry, that
// is, nothing usable).
func MaxAge(h httpmsg.Headers, now time.Time, cacheMax int) (eff, trueAge int, ok bool) {
	smax, max := -1, -1
	for _, v := range listValues(h, "Cache-Control") {
		for _, d := range [...]struct {
			name string
			dst  *int
		}{{"s-maxage", &smax}, {"max-age", &max}} {
			if len(v) <= len(d.name) || !strings.EqualFold(v[:len(d.name)], d.name) || v[len(d.name)] != '=' {
				continue
			}
			n, good := leadingInt(strings.TrimPrefix(v[len(d.name)+1:], `"`))
			if !good || n < 0 {
				return 0, 0, false
			}
			*d.dst = n
		}
	}
	expires := -1
	if max == -1 && smax == -1 {
		if v, has := h.Get("Expires"); has {
			expires = 0
			if tm, err := http.ParseTime(v); err == nil && !tm.Before(now) {
				expires = int(tm.Unix() - now.Unix())
			}
		}
	}
	switch {
	case smax > 0:
		return min(smax, cacheMax), smax, true
	case max > 0:
		return min(max, cacheMax), max, true
	case expires >= 0:
		return min(expires, cacheMax), expires, true
	}
	return cacheMax, 0, true
}

// leadingInt parses the digits strtol would read (an optional sign, then
// digits); good is false when there are none.
func leadingInt(s string) (int, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, false
	}
	n, err := strconv.Atoi(s[:j])
	if err != nil {
		return 0, false
	}
	return n, true
}

// The headers HAProxy's Vary processing manages, as signature bits.
const (
	VaryAcceptEncoding uint32 = 1 << 0
	VaryReferer        uint32 = 1 << 1
)

// VarySignature is http_check_vary_header: ok is false when the response
// varies on a header other than Accept-Encoding and Referer.
func VarySignature(h httpmsg.Headers) (sig uint32, ok bool) {
	for _, v := range listValues(h, "Vary") {
		switch {
		case strings.EqualFold(v, "accept-encoding"):
			sig |= VaryAcceptEncoding
		case strings.EqualFold(v, "referer"):
			sig |= VaryReferer
		default:
			return 0, false
		}
	}
	return sig, true
}

// SecondaryKey is the part of the request a varying response depends on:
// the accepted encodings as a bitmap and a checksum of the Referer.
type SecondaryKey struct {
	Enc uint32
	Ref uint32
}

// Encoding bits (HAProxy's vary_encoding).
const (
	encGzip uint32 = 1 << iota
	encDeflate
	encBr
	encCompress
	encAES128GCM
	encEXI
	encPack200
	encZstd
	encIdentity
	encStar
	encOther
)

var encodings = map[string]uint32{
	"gzip": encGzip, "x-gzip": encGzip, "deflate": encDeflate, "br": encBr, "compress": encCompress,
	"x-compress": encCompress, "aes128gcm": encAES128GCM, "exi": encEXI, "pack200-gzip": encPack200,
	"zstd": encZstd, "identity": encIdentity, "*": encStar,
}

// parseEncoding reads "name[;q=...]"; ok is false for an unknown coding.
func parseEncoding(v string) (bit uint32, zeroQ, ok bool) {
	name, params, hasParams := strings.Cut(v, ";")
	name = strings.TrimRight(name, " \t")
	bit, ok = encodings[strings.ToLower(name)]
	if !ok {
		return 0, false, false
	}
	if hasParams {
		zeroQ = strings.TrimSpace(params) == "q=0"
	}
	return bit, zeroQ, true
}

// RequestSecondaryKey builds the secondary key of a request for the
// headers in sig (accept_encoding_normalizer, default_normalizer); ok is
// false for a request HAProxy refuses to key (16 or more codings).
func RequestSecondaryKey(h httpmsg.Headers, sig uint32) (SecondaryKey, bool) {
	var k SecondaryKey
	if sig&VaryAcceptEncoding != 0 {
		bitmap, reject, count := encIdentity, ^uint32(0), 0
		for _, v := range listValues(h, "Accept-Encoding") {
			count++
			if count >= 16 {
				return k, false
			}
			if v == "" {
				continue // present but empty: no coding wanted
			}
			bit, zero, ok := parseEncoding(v)
			switch {
			case !ok:
				bitmap |= encOther
			case zero:
				reject &^= bit
			default:
				bitmap |= bit
			}
		}
		if bitmap&encStar != 0 {
			bitmap = ^uint32(0)
		}
		bitmap &= reject
		if count == 0 {
			bitmap = ^uint32(0)
		}
		k.Enc = bitmap
	}
	if sig&VaryReferer != 0 {
		if v, ok := h.Get("Referer"); ok {
			k.Ref = crc32.ChecksumIEEE([]byte(v))
		}
	}
	return k, true
}

// ResponseEncoding is set_secondary_key_encoding: the stored entry's
// encoding part is the response's Content-Encoding; ok is false for an
// unknown coding (such a response is not stored).
func ResponseEncoding(h httpmsg.Headers) (uint32, bool) {
	var bm uint32
	for _, v := range listValues(h, "Content-Encoding") {
		bit, _, ok := parseEncoding(v)
		if !ok {
			return 0, false
		}
		bm |= bit
	}
	if bm == 0 {
		bm = encIdentity
	}
	return bm, true
}

// matches is secondary_key_cmp: the stored encoding must be one the
// request accepts, and the Referer checksums equal.
func (stored SecondaryKey) matches(req SecondaryKey) bool {
	if stored.Enc&encOther != 0 || stored.Enc&req.Enc != stored.Enc {
		return false
	}
	return stored.Ref == req.Ref
}

// NotModified is should_send_notmodified_response: If-None-Match against
// the stored ETag (weak comparison; "*" matches), else If-Modified-Since
// against Last-Modified (or Date, or the time of storage).
func NotModified(req httpmsg.Headers, etag string, lastModified time.Time) bool {
	inm := listValues(req, "If-None-Match")
	if len(inm) > 0 {
		for _, v := range inm {
			if v == "*" {
				return true
			}
			if etag == "" {
				return false
			}
			if weakEqual(etag, v) {
				return true
			}
		}
		return false
	}
	if v, ok := req.Get("If-Modified-Since"); ok {
		if tm, err := http.ParseTime(v); err == nil {
			return !lastModified.After(tm)
		}
	}
	return false
}

func weakEqual(a, b string) bool {
	a, b = strings.TrimPrefix(a, "W/"), strings.TrimPrefix(b, "W/")
	return len(a) >= 2 && a[0] == '"' && a == b
}

// listValues splits every field named name on commas, as HAProxy's
// http_find_header does for list-valued fields; empty elements are kept
// (an empty Accept-Encoding counts).
func listValues(h httpmsg.Headers, name string) []string {
	var out []string
	for _, f := range h {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		for _, v := range strings.Split(f.Value, ",") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
