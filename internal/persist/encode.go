package persist

import (
	"encoding/binary"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/hashfn"
	"net/netip"
)

const b64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// s30ToB64 writes the low 30 bits of v as 5 base64 characters, HAProxy's
// s30tob64 (the dates of an insert cookie).
func s30ToB64(d *[5]byte, v int32) []byte {
	for i := range d {
		d[i] = b64Chars[(v>>24)&0x3f]
		v <<= 6
	}
	return d[:]
}

// b64ToS30 reads 5 base64 characters back; -1 for anything else
// (padding included), as HAProxy's b64tos30.
func b64ToS30(in []byte) int32 {
	var out int32
	for _, c := range in[:5] {
		var v int32
		switch {
		case c >= 'A' && c <= 'Z':
			v = int32(c - 'A')
		case c >= 'a' && c <= 'z':
			v = int32(c-'a') + 26
		case c >= '0' && c <= '9':
			v = int32(c-'0') + 52
		case c == '+':
			v = 62
		case c == '/':
			v = 63
		default:
			return -1
		}
		out = out<<6 + v
	}
	return out
}

// DynamicValue is the cookie value of a server under "cookie ... dynamic":
// XXH64 (seed 0) of the key, the server's IPv4 or IPv6 address bytes and
// its port as 4 big-endian bytes, in 16 hex digits, as HAProxy 2.6's
// srv_set_dyncookie computes it, so every load balancer with the same key
// agrees. "" for an address that is neither.
func DynamicValue(key string, addr netip.AddrPort) string {
	a := addr.Addr()
	if !a.IsValid() {
		return ""
	}
	buf := make([]byte, 0, len(key)+16+4)
	buf = append(buf, key...)
	if a.Is4() || a.Is4In6() {
		v4 := a.Unmap().As4()
		buf = append(buf, v4[:]...)
	} else {
		v6 := a.As16()
		buf = append(buf, v6[:]...)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(addr.Port()))
	return fmt.Sprintf("%016x", xxh64(buf, 0))
}

// xxh64 is the XXH64 hash HAProxy's dynamic cookies use.
func xxh64(b []byte, seed uint64) uint64 { return hashfn.XXH64(string(b), seed) }
