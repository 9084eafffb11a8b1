// Package hashfn holds HAProxy's hash functions (src/hash.c, xxhash),
// bit for bit, for the hash-based balancers ("hash-type") and for the
// converters of the same names: a key must hash as HAProxy hashes it.
// Bytes are unsigned.
package hashfn

import "hash/crc32"

// Names lists the function names "hash-type" accepts in HAProxy 2.6.
func Names() []string { return []string{"sdbm", "djb2", "wt6", "crc32"} }

// ByName returns the named function; "" is sdbm, HAProxy's default.
func ByName(name string) (func(string) uint32, bool) {
	switch name {
	case "", "sdbm":
		return SDBM, true
	case "djb2":
		return DJB2, true
	case "wt6":
		return WT6, true
	case "crc32":
		return CRC32, true
	}
	return nil, false
}

// SDBM is hash_sdbm.
func SDBM(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = uint32(s[i]) + (h << 6) + (h << 16) - h
	}
	return h
}

// CRC32 is hash_crc32: the IEEE CRC-32 of the bytes (as zlib's).
func CRC32(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C is hash_crc32c: the Castagnoli CRC of RFC 4960, appendix B.
func CRC32C(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = castagnoli[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// DJB2 is hash_djb2.
func DJB2(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = (h << 5) + h + uint32(s[i])
	}
	return h
}

// WT6 is hash_wt6.
func WT6(s string) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := uint32(6), uint32(18)
	for i := 0; i < len(s); i++ {
		t := uint32(s[i])
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<step0 | h1>>(32-step0)
		h1 = h0<<step1 | h0>>(32-step1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

// FullHash is HAProxy's full_hash (Bob Jenkins' 32-bit integer mix, then
// a product by a prime near 3/4 of 2^32): the "avalanche" modifier, and
// the key of each point of the consistent ring.
func FullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473
}
