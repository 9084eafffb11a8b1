package passwd

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
)

// SHA-crypt, as specified by Ulrich Drepper in "Unix crypt using SHA-256
// and SHA-512" (https://www.akkadia.org/drepper/SHA-crypt.txt); the step
// numbers below are the specification's.

const (
	shaRoundsDefault = 5000
	shaRoundsMin     = 1000
	shaRoundsMax     = 999999999
)

// SHA-crypt's output permutation: each triple of digest bytes becomes four
// characters (the last group fewer), in the order the specification lists.
var (
	sha512Order = [][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
		{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
		{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
	}
	sha256Order = [][3]int{
		{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	}
)

// shaCrypt computes the full crypt string of password with salt (at most
// 16 characters) and rounds (0: the default 5000, not written out).
func shaCrypt(sch Scheme, password, salt string, rounds int) string {
	newHash, magic := sha512.New, "$6$"
	if sch == SHA256 {
		newHash, magic = sha256.New, "$5$"
	}
	custom := rounds != 0
	if !custom {
		rounds = shaRoundsDefault
	}
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p, s := []byte(password), []byte(salt)

	// Steps 4-8: digest B = H(P S P).
	hb := newHash()
	hb.Write(p)
	hb.Write(s)
	hb.Write(p)
	b := hb.Sum(nil)
	size := len(b)

	// Steps 1-3, 9-12: digest A = H(P S, B for each byte of P, then per
	// bit of len(P) from the lowest: B for a 1, P for a 0).
	ha := newHash()
	ha.Write(p)
	ha.Write(s)
	writeRepeated(ha, b, len(p))
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			ha.Write(b)
		} else {
			ha.Write(p)
		}
	}
	a := ha.Sum(nil)

	// Steps 13-16: sequence P = DP repeated to len(P) bytes, DP = H(P^len(P)).
	hdp := newHash()
	for range len(p) {
		hdp.Write(p)
	}
	pSeq := repeatTo(hdp.Sum(nil), len(p))

	// Steps 17-20: sequence S = DS repeated to len(S), DS = H(S^(16+A[0])).
	hds := newHash()
	for range 16 + int(a[0]) {
		hds.Write(s)
	}
	sSeq := repeatTo(hds.Sum(nil), len(s))

	// Step 21: the rounds.
	c := a
	h := newHash()
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sSeq)
		}
		if i%7 != 0 {
			h.Write(pSeq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(c[:0])
	}

	// Step 22: the output.
	out := make([]byte, 0, 3+len("rounds=999999999$")+len(salt)+1+86)
	out = append(out, magic...)
	if custom {
		out = append(out, "rounds="...)
		out = strconv.AppendInt(out, int64(rounds), 10)
		out = append(out, '$')
	}
	out = append(out, salt...)
	out = append(out, '$')
	order := sha512Order
	if size == sha256.Size {
		order = sha256Order
	}
	for _, o := range order {
		out = b64From24(out, c[o[0]], c[o[1]], c[o[2]], 4)
	}
	if size == sha512.Size {
		out = b64From24(out, 0, 0, c[63], 2)
	} else {
		out = b64From24(out, 0, c[31], c[30], 3)
	}
	return string(out)
}

// writeRepeated writes digest d over and over until n bytes are written.
func writeRepeated(h hash.Hash, d []byte, n int) {
	for ; n > len(d); n -= len(d) {
		h.Write(d)
	}
	h.Write(d[:n])
}

func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// b64From24 appends n characters of the 24-bit group b2 b1 b0, low bits
// first, as crypt's b64_from_24bit does.
func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
	for range n {
		out = append(out, crypt64[w&0x3f])
		w >>= 6
	}
	return out
}
