package upstream

import "hash/crc32"

// The hash functions of HAProxy's "hash-type" (src/hash.c), bit for bit,
// so that a key picks the server HAProxy picks. Bytes are unsigned.

// HashFuncs lists the function names "hash-type" accepts in HAProxy 2.6.
func HashFuncs() []string { return []string{"sdbm", "djb2", "wt6", "crc32"} }

// hashFunc returns the named function; "" is sdbm, HAProxy's default.
func hashFunc(name string) (func(string) uint32, bool) {
	switch name {
	case "", "sdbm":
		return sdbm, true
	case "djb2":
		return djb2, true
	case "wt6":
		return wt6, true
	case "crc32":
		return crc32IEEE, true
	}
	return nil, false
}

func sdbm(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = uint32(s[i]) + (h << 6) + (h << 16) - h
	}
	return h
}

// crc32IEEE is hash_crc32: the IEEE CRC-32 of the bytes (as zlib's).
func crc32IEEE(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

func djb2(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = (h << 5) + h + uint32(s[i])
	}
	return h
}

func wt6(s string) uint32 {
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

// fullHash is HAProxy's full_hash (Bob Jenkins' 32-bit integer mix, then
// a product by a prime near 3/4 of 2^32): the "avalanche" modifier, and
// the key of each point of the consistent ring.
func fullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473
}
