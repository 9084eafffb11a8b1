package acl

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/hashfn"
)

// The encoding, hashing, date, trimming and host converters of HAProxy 2.6
// (sample.c, http_conv.c). They see the run-time type of their input:
// the hashes and digests read an integer as its 8 big-endian bytes and an
// address as its 4 or 16, as HAProxy's casts to binary do.

const (
	cMoreFirst convOp = 64 + iota
	cURLDec
	cURLEnc
	cB64Dec
	cUB64Dec
	cUB64Enc
	cHex2i
	cDigest // sha1, sha2, digest
	cHMAC
	cHash32 // crc32, crc32c, djb2, sdbm, wt6
	cXXH32
	cXXH64
	cHTTPDate
	cLTime
	cUTime
	cJSON
	cLTrim
	cRTrim
	cCutCRLF
	cHostOnly
	cPortOnly
	cIIf
	cBe2Dec
	cBe2Hex
	cHtonl
	cJSONQuery
	cJWTPart // jwt_header_query, jwt_payload_query (convert_jwt.go)
	cJWTVerify
)

func moreConvs() []convDef {
	hashDoc := " of the input's bytes, as an unsigned 32-bit integer; <avalanche> 1 applies HAProxy's full_hash"
	return []convDef{
		{name: "url_dec", args: "I", out: tStr, op: cURLDec, doc: "decode %XX escapes; '+' becomes a space after a '?' or everywhere when <in_form> is non-zero; an invalid escape fails"},
		{name: "url_enc", args: "S", out: tStr, op: cURLEnc, doc: "%XX-encode what a query component cannot hold (all but letters, digits, '-', '.', '_', '~'); <enc_type> is 'query'"},
		{name: "b64dec", out: tBin, op: cB64Dec, doc: "decode base64 (standard alphabet); invalid input fails"},
		{name: "ub64dec", out: tBin, op: cUB64Dec, doc: "decode base64url (unpadded, as in JWTs; a '=' reads as '_', as HAProxy 2.6 reads it)"},
		{name: "ub64enc", out: tStr, op: cUB64Enc, doc: "encode as base64url without padding"},
		{name: "hex2i", out: tInt, op: cHex2i, doc: "a hexadecimal string as an integer; no value when it is not one (HAProxy 2.6's behaviour, not its documentation's 0)"},
		{name: "sha1", out: tBin, op: cDigest, doc: "the SHA-1 digest (20 bytes)"},
		{name: "sha2", args: "I", out: tBin, op: cDigest, doc: "the SHA-2 digest of <bits> 224, 256 (default), 384 or 512"},
		{name: "digest", args: "s", out: tBin, op: cDigest, doc: "the digest by OpenSSL name: md5, sha1, sha224, sha256, sha384, sha512, sha512-224, sha512-256, sha3-224 .. sha3-512"},
		{name: "hmac", args: "ss", out: tBin, op: cHMAC, doc: "the HMAC with digest <algorithm> and <key> in base64, or a variable holding it"},
		{name: "crc32", args: "I", out: tInt, op: cHash32, doc: "the CRC-32 (IEEE)" + hashDoc},
		{name: "crc32c", args: "I", out: tInt, op: cHash32, doc: "the CRC-32C (Castagnoli)" + hashDoc},
		{name: "djb2", args: "I", out: tInt, op: cHash32, doc: "the DJB2 hash" + hashDoc},
		{name: "sdbm", args: "I", out: tInt, op: cHash32, doc: "the SDBM hash" + hashDoc},
		{name: "wt6", args: "I", out: tInt, op: cHash32, doc: "the WT6 hash" + hashDoc},
		{name: "xxh32", args: "I", out: tInt, op: cXXH32, doc: "the 32-bit xxHash with <seed> (default 0)"},
		{name: "xxh64", args: "I", out: tInt, op: cXXH64, doc: "the 64-bit xxHash with <seed> (default 0), as a signed integer"},
		{name: "http_date", args: "IS", out: tStr, op: cHTTPDate, doc: "a date since the epoch, plus <offset>, as an HTTP date; <unit> s (default), ms or us"},
		{name: "ltime", args: "sI", out: tStr, op: cLTime, doc: "a date since the epoch, plus <offset> seconds, in local time with the strftime <format>"},
		{name: "utime", args: "sI", out: tStr, op: cUTime, doc: "a date since the epoch, plus <offset> seconds, in UTC with the strftime <format>"},
		{name: "json", args: "S", out: tStr, op: cJSON, doc: "escape for a JSON string; <input-code> ascii, utf8, utf8s, utf8p or utf8ps (s: drop bad characters, p: accept overlong forms)"},
		{name: "ltrim", args: "s", out: tStr, op: cLTrim, doc: "drop the leading characters found in <chars>"},
		{name: "rtrim", args: "s", out: tStr, op: cRTrim, doc: "drop the trailing characters found in <chars>"},
		{name: "cut_crlf", out: tStr, op: cCutCRLF, doc: "cut at the first CR or LF"},
		{name: "host_only", out: tStr, op: cHostOnly, doc: "a Host value without its port, in lower case"},
		{name: "port_only", out: tInt, op: cPortOnly, doc: "the port of a Host value; 0 when it has none"},
		{name: "iif", args: "ss", out: tStr, op: cIIf, doc: "<true> when the input is true, else <false>"},
		{name: "be2dec", args: "siI", out: tStr, op: cBe2Dec, doc: "big-endian unsigned integers of <chunk_size> bytes in decimal, joined by <separator>; <truncate> drops a last short chunk"},
		{name: "be2hex", args: "SII", out: tStr, op: cBe2Hex, doc: "hexadecimal, <separator> every <chunk_size> bytes; <truncate> drops a last short chunk"},
		{name: "htonl", out: tBin, op: cHtonl, doc: "an integer as 4 bytes in network order"},
		{name: "jwt_header_query", args: "SS", out: tAny, op: cJWTPart, doc: "the decoded JOSE header of a JWT, or json_query(<json_path>,<output_type>) on it"},
		{name: "jwt_payload_query", args: "SS", out: tAny, op: cJWTPart, doc: "the decoded payload of a JWT, or json_query(<json_path>,<output_type>) on it"},
		{name: "jwt_verify", args: "ss", out: tInt, op: cJWTVerify, doc: "verify a compact JWS with <alg> (or a variable holding it) and <key>: the HMAC secret, or the path of a PEM certificate or public key loaded at start; 1 verified, 0 failed, -1 unknown algorithm, -2 PS* (unmanaged), -3 invalid token, -5 unknown certificate"},
		{name: "json_query", args: "sS", out: tAny, op: cJSONQuery, doc: "the value at <json_path> ($.a.b, $.a[0], $['a.b']) of a JSON input: a string, a boolean, a number as a string, or an integer with <output_type> 'int'"},
	}
}

// moreConv is the compiled state of the converters above.
type moreConv struct {
	newHash  func() hash.Hash
	key      []byte // hmac: the decoded key
	hash32   func(string) uint32
	dateUnit int64 // http_date: units per second
}

func compileMoreConv(d *convDef, a fetchArgs) (conv, error) {
	c := conv{op: d.op, name: d.name, out: d.out, a: a, more: &moreConv{}}
	m := c.more
	switch d.op {
	case cURLEnc:
		if a.n > 0 && a.str[0] != "query" {
			return c, fmt.Errorf("unknown encoding '%s', only 'query' is supported", a.str[0])
		}
	case cDigest:
		alg := d.name
		switch d.name {
		case "sha2":
			bits := int64(256)
			if a.n > 0 {
				bits = a.num[0]
			}
			switch bits {
			case 224, 256, 384, 512:
				alg = fmt.Sprintf("sha%d", bits)
			default:
				return c, fmt.Errorf("Unsupported number of bits: '%d'", bits)
			}
		case "digest":
			alg = a.str[0]
		}
		h, ok := digestByName(alg)
		if !ok {
			return c, fmt.Errorf("unknown digest '%s'", alg)
		}
		m.newHash = h
	case cHMAC:
		h, ok := digestByName(a.str[0])
		if !ok {
			return c, fmt.Errorf("unknown digest '%s'", a.str[0])
		}
		m.newHash = h
		if strings.Contains(a.str[1], ".") { // base64 has no '.': a variable
			n, err := ParseVarName(a.str[1])
			if err != nil {
				return c, err
			}
			c.a.vr = &n
		} else {
			key, err := base64.StdEncoding.DecodeString(a.str[1])
			if err != nil {
				return c, fmt.Errorf("invalid base64 key '%s'", a.str[1])
			}
			m.key = key
		}
	case cHash32:
		switch d.name {
		case "crc32c":
			m.hash32 = hashfn.CRC32C
		default:
			m.hash32, _ = hashfn.ByName(d.name)
		}
	case cHTTPDate:
		m.dateUnit = 1
		if a.n > 1 {
			switch a.str[1] {
			case "s":
			case "ms":
				m.dateUnit = 1000
			case "us":
				m.dateUnit = 1000000
			default:
				return c, fmt.Errorf("invalid unit '%s', expected 's', 'ms' or 'us'", a.str[1])
			}
		}
	case cJSON:
		switch a.str[0] {
		case "", "ascii", "utf8", "utf8s", "utf8p", "utf8ps":
		default:
			return c, fmt.Errorf("unexpected input code type '%s'. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'", a.str[0])
		}
	case cBe2Dec:
		if a.num[1] < 1 || a.num[1] > 8 {
			return c, fmt.Errorf("chunk size must be between 1 and 8")
		}
	case cBe2Hex:
		if a.num[1] < 0 {
			return c, errNegative
		}
	case cJWTPart, cJWTVerify:
		return compileJWTConv(c, d)
	case cJSONQuery:
		p, err := parseJSONPath(a.str[0])
		if err != nil {
			return c, err
		}
		c.jpath = p
		if a.n > 1 && a.str[1] != "int" {
			return c, fmt.Errorf("output_type only supports \"int\" as argument")
		}
	}
	return c, nil
}

// digestByName maps OpenSSL's message digest names to Go's.
func digestByName(name string) (func() hash.Hash, bool) {
	switch strings.ToLower(name) {
	case "md5":
		return md5.New, true
	case "sha1":
		return sha1.New, true
	case "sha224":
		return sha256.New224, true
	case "sha256":
		return sha256.New, true
	case "sha384":
		return sha512.New384, true
	case "sha512":
		return sha512.New, true
	case "sha512-224":
		return sha512.New512_224, true
	case "sha512-256":
		return sha512.New512_256, true
	case "sha3-224":
		return func() hash.Hash { return sha3.New224() }, true
	case "sha3-256":
		return func() hash.Hash { return sha3.New256() }, true
	case "sha3-384":
		return func() hash.Hash { return sha3.New384() }, true
	case "sha3-512":
		return func() hash.Hash { return sha3.New512() }, true
	}
	return nil, false
}

// runMore applies one of the converters above to b[start:], a value of
// run-time type typ.
func (c *conv) runMore(t *Txn, typ smpType, b []byte, start int) ([]byte, smpType, bool) {
	in := view(b[start:])
	fail := func() ([]byte, smpType, bool) { return b[:start], typ, false }
	str := in // the input cast to a string
	if typ == tBin {
		str = binStr(in)
	}
	bin := func() []byte { // the input cast to binary
		s, _ := bytesSample(typ, in)
		var buf [16]byte
		return append([]byte(nil), s.binView(&buf)...)
	}
	m := c.more
	switch c.op {
	case cURLDec:
		out, ok := urlDecode(str, c.a.num[0] != 0)
		if !ok {
			return fail()
		}
		return append(b[:start], out...), tStr, true
	case cURLEnc:
		return append(b[:start], urlEncodeQuery(str)...), tStr, true
	case cB64Dec, cUB64Dec:
		enc := base64.StdEncoding
		s := str
		if c.op == cUB64Dec {
			// HAProxy 2.6 reads a '=' in base64url input as the value of
			// '_' (63), not as padding: the same bytes come out.
			enc, s = base64.RawURLEncoding, strings.ReplaceAll(str, "=", "_")
		}
		out, err := enc.DecodeString(s)
		if err != nil {
			return fail()
		}
		return append(b[:start], out...), tBin, true
	case cUB64Enc:
		return base64.RawURLEncoding.AppendEncode(b[:start], bin()), tStr, true
	case cHex2i:
		// The documentation says 0 for a non-hex input; HAProxy 2.6 gives
		// no value, and so does this.
		var v int64
		for i := 0; i < len(str); i++ {
			d := unhex(str[i])
			if d < 0 {
				return fail()
			}
			v = v<<4 | int64(d)
		}
		return strconv.AppendInt(b[:start], v, 10), tInt, true
	case cDigest:
		h := m.newHash()
		h.Write(bin())
		return h.Sum(b[:start]), tBin, true
	case cHMAC:
		key := m.key
		if c.a.vr != nil {
			v, ok := t.getVar(c.a.vr)
			if !ok {
				return fail()
			}
			var err error
			if key, err = base64.StdEncoding.DecodeString(string(v.appendTo(nil))); err != nil {
				return fail()
			}
		}
		h := hmac.New(m.newHash, key)
		h.Write(bin())
		return h.Sum(b[:start]), tBin, true
	case cHash32:
		v := m.hash32(string(bin()))
		if c.a.num[0] == 1 {
			v = hashfn.FullHash(v)
		}
		return strconv.AppendInt(b[:start], int64(v), 10), tInt, true
	case cXXH32:
		return strconv.AppendInt(b[:start], int64(hashfn.XXH32(string(bin()), uint32(c.a.num[0]))), 10), tInt, true
	case cXXH64:
		return strconv.AppendInt(b[:start], int64(hashfn.XXH64(string(bin()), uint64(c.a.num[0]))), 10), tInt, true
	case cHTTPDate, cLTime, cUTime:
		v, ok := castInt(typ, in)
		if !ok {
			return fail()
		}
		if c.op == cHTTPDate {
			v += c.a.num[0]
			sec, frac := v/m.dateUnit, v%m.dateUnit
			out := time.Unix(sec, 0).UTC().AppendFormat(b[:start], "Mon, 02 Jan 2006 15:04:05")
			// A sub-second unit shows its fraction, as HAProxy's does.
			switch m.dateUnit {
			case 1000:
				out = fmt.Appendf(out, ".%03d", frac)
			case 1000000:
				out = fmt.Appendf(out, ".%06d", frac)
			}
			return append(out, " GMT"...), tStr, true
		}
		tm := time.Unix(v+c.a.num[1], 0)
		if c.op == cUTime {
			tm = tm.UTC()
		} else {
			tm = tm.Local()
		}
		return appendStrftime(b[:start], c.a.str[0], tm), tStr, true
	case cJSON:
		out, ok := jsonEscape(nil, str, c.a.str[0])
		if !ok {
			return fail()
		}
		return append(b[:start], out...), tStr, true
	case cLTrim:
		s := strings.TrimLeft(str, c.a.str[0])
		return append(b[:start], s...), tStr, true
	case cRTrim:
		s := strings.TrimRight(str, c.a.str[0])
		return b[:start+len(s)], tStr, true
	case cCutCRLF:
		if i := strings.IndexAny(str, "\r\n"); i >= 0 {
			str = str[:i]
		}
		return b[:start+len(str)], tStr, true
	case cHostOnly, cPortOnly:
		host, port := splitHostValue(str)
		if c.op == cPortOnly {
			p, _ := strconv.Atoi(port)
			return strconv.AppendInt(b[:start], int64(p), 10), tInt, true
		}
		out := append([]byte(nil), host...)
		for i, ch := range out {
			if 'A' <= ch && ch <= 'Z' {
				out[i] = ch + 'a' - 'A'
			}
		}
		return append(b[:start], out...), tStr, true
	case cIIf:
		v, ok := castInt(typ, in)
		if !ok {
			return fail()
		}
		out := c.a.str[1]
		if v != 0 {
			out = c.a.str[0]
		}
		return append(b[:start], out...), tStr, true
	case cBe2Dec:
		return append(b[:start], be2dec(bin(), c.a.str[0], int(c.a.num[1]), c.a.num[2] != 0)...), tStr, true
	case cBe2Hex:
		return append(b[:start], be2hex(bin(), c.a.str[0], int(c.a.num[1]), c.a.num[2] != 0)...), tStr, true
	case cHtonl:
		v, ok := castInt(typ, in)
		if !ok {
			return fail()
		}
		return binary.BigEndian.AppendUint32(b[:start], uint32(v)), tBin, true
	case cJWTPart:
		return c.jwtPart(typ, b, start, str)
	case cJWTVerify:
		code, ok := c.jwtVerify(t, str)
		if !ok {
			return fail()
		}
		return strconv.AppendInt(b[:start], code, 10), tInt, true
	case cJSONQuery:
		s, ok := jsonQuery([]byte(str), c.jpath, c.a.n > 1)
		if !ok {
			return fail()
		}
		return s.appendTo(b[:start]), s.typ, true
	}
	return fail()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// urlDecode is HAProxy's url_decode: %XX escapes, '+' as a space in a
// form (or once a '?' was seen); it stops at a NUL; a bad escape fails.
func urlDecode(s string, inForm bool) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && s[i] != 0; i++ {
		switch ch := s[i]; ch {
		case '+':
			if inForm {
				ch = ' '
			}
			out = append(out, ch)
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return nil, false
			}
			out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		case '?':
			inForm = true
			out = append(out, ch)
		default:
			out = append(out, ch)
		}
	}
	return out, true
}

// urlEncodeQuery %XX-encodes all but RFC 3986's unreserved characters,
// what HAProxy 2.6's url_enc(query) leaves as is.
func urlEncodeQuery(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			out = append(out, ch)
			continue
		}
		out = append(out, '%', hexUpperDigits[ch>>4], hexUpperDigits[ch&15])
	}
	return out
}

const hexUpperDigits = "0123456789ABCDEF"

// splitHostValue splits a Host value (name, name:port, v4, v4:port,
// [v6], [v6]:port) into host and port.
func splitHostValue(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			host, rest := s[:i+1], s[i+1:]
			if strings.HasPrefix(rest, ":") {
				return host, rest[1:]
			}
			return host, ""
		}
		return s, ""
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func be2dec(in []byte, sep string, chunk int, truncate bool) []byte {
	var out []byte
	for i := 0; i < len(in); i += chunk {
		end := i + chunk
		if end > len(in) {
			if truncate {
				break
			}
			end = len(in)
		}
		if i > 0 {
			out = append(out, sep...)
		}
		var v uint64
		for _, x := range in[i:end] {
			v = v<<8 | uint64(x)
		}
		out = strconv.AppendUint(out, v, 10)
	}
	return out
}

func be2hex(in []byte, sep string, chunk int, truncate bool) []byte {
	if chunk == 0 {
		chunk = 1
	}
	var out []byte
	for i := 0; i < len(in); i += chunk {
		end := i + chunk
		if end > len(in) {
			if truncate {
				break
			}
			end = len(in)
		}
		if i > 0 {
			out = append(out, sep...)
		}
		for _, x := range in[i:end] {
			out = append(out, hexUpperDigits[x>>4], hexUpperDigits[x&15])
		}
	}
	return out
}
