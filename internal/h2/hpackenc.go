package h2

import (
	"unsafe"
)

// A response header block is encoded here rather than by x/net's
// hpack.Encoder: the encoder indexes nothing (see NewConn), so what is left
// is static-table name references and literal strings, and doing that
// in place saves, per field, the lower-cased copy of the name
// (strings.ToLower allocates for "Content-Type") and the Huffman coding of
// the value. Strings go out as plain literals, as HAProxy's encoder sends
// them; the peer decodes either.

// staticName is the first index of each name in the HPACK static table
// (RFC 7541 Appendix A).
var staticName = map[string]uint8{
	":authority": 1, ":method": 2, ":path": 4, ":scheme": 6, ":status": 8,
	"accept-charset": 15, "accept-encoding": 16, "accept-language": 17, "accept-ranges": 18,
	"accept": 19, "access-control-allow-origin": 20, "age": 21, "allow": 22, "authorization": 23,
	"cache-control": 24, "content-disposition": 25, "content-encoding": 26, "content-language": 27,
	"content-length": 28, "content-location": 29, "content-range": 30, "content-type": 31,
	"cookie": 32, "date": 33, "etag": 34, "expect": 35, "expires": 36, "from": 37, "host": 38,
	"if-match": 39, "if-modified-since": 40, "if-none-match": 41, "if-range": 42,
	"if-unmodified-since": 43, "last-modified": 44, "link": 45, "location": 46, "max-forwards": 47,
	"proxy-authenticate": 48, "proxy-authorization": 49, "range": 50, "referer": 51, "refresh": 52,
	"retry-after": 53, "server": 54, "set-cookie": 55, "strict-transport-security": 56,
	"transfer-encoding": 57, "user-agent": 58, "vary": 59, "via": 60, "www-authenticate": 61,
}

// appendHpackInt appends v with an n-bit prefix whose other bits are first's.
func appendHpackInt(b []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(max))
	for v -= max; v >= 128; v >>= 7 {
		b = append(b, byte(v&0x7f)|0x80)
	}
	return append(b, byte(v))
}

// appendHpackString appends s as a literal string (no Huffman coding).
func appendHpackString(b []byte, s string) []byte {
	b = appendHpackInt(b, 0, 7, uint64(len(s)))
	return append(b, s...)
}

// appendStatus appends :status: an indexed field for the seven codes the
// static table holds, else a literal with the name indexed.
func appendStatus(b []byte, status int) []byte {
	switch status {
	case 200:
		return append(b, 0x80|8)
	case 204:
		return append(b, 0x80|9)
	case 206:
		return append(b, 0x80|10)
	case 304:
		return append(b, 0x80|11)
	case 400:
		return append(b, 0x80|12)
	case 404:
		return append(b, 0x80|13)
	case 500:
		return append(b, 0x80|14)
	}
	b = appendHpackInt(b, 0, 4, 8)
	var d [3]byte // 100..999
	d[0], d[1], d[2] = byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10)
	b = append(b, 3)
	return append(b, d[:]...)
}

// appendLower appends name in lower case and returns the appended part as
// a string view of b (valid until b is written again).
func appendLower(b []byte, name string) ([]byte, string) {
	start := len(b)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b, unsafe.String(unsafe.SliceData(b[start:]), len(b)-start)
}

// appendField appends a literal field without indexing, or never indexed
// for values that are likely secrets (RFC 7541 §7.1.3), with the name
// from the static table when it is there. name is lower case.
func appendField(b []byte, name, value string) []byte {
	first := byte(0x00) // literal without indexing: 0000xxxx
	if name == "set-cookie" || name == "authorization" || name == "proxy-authorization" {
		first = 0x10 // never indexed: 0001xxxx
	}
	if i, ok := staticName[name]; ok {
		b = appendHpackInt(b, first, 4, uint64(i))
	} else {
		b = append(b, first)
		b = appendHpackString(b, name)
	}
	return appendHpackString(b, value)
}
