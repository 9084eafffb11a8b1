package persist

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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

const (
	xxP1 uint64 = 11400714785074694791
	xxP2 uint64 = 14029467366897019727
	xxP3 uint64 = 1609587929392839161
	xxP4 uint64 = 9650029242287828579
	xxP5 uint64 = 2870177450012600261
)

func xxRound(acc, in uint64) uint64 {
	acc += in * xxP2
	acc = bits.RotateLeft64(acc, 31)
	return acc * xxP1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*xxP1 + xxP4
}

// xxh64 is the XXH64 hash (Yann Collet's xxHash, 64-bit).
func xxh64(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1, v2, v3, v4 := seed+xxP1+xxP2, seed+xxP2, seed, seed-xxP1
		for len(b) >= 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b[0:]))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[24:]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = seed + xxP5
	}
	h += uint64(n)
	for len(b) >= 8 {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b))
		h = bits.RotateLeft64(h, 27)*xxP1 + xxP4
		b = b[8:]
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * xxP1
		h = bits.RotateLeft64(h, 23)*xxP2 + xxP3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * xxP5
		h = bits.RotateLeft64(h, 11) * xxP1
	}
	h ^= h >> 33
	h *= xxP2
	h ^= h >> 29
	h *= xxP3
	h ^= h >> 32
	return h
}
