package passwd

import "crypto/md5"

// md5Crypt is Poul-Henning Kamp's MD5-based crypt ("$1$"), as FreeBSD's
// lib/libcrypt/crypt-md5.c computes it: weak (1000 MD5 rounds), kept
// because old htpasswd-style userlists hold it.
func md5Crypt(password, salt string) string {
	const magic = "$1$"
	if len(salt) > 8 {
		salt = salt[:8]
	}
	p, s := []byte(password), []byte(salt)

	// The alternate sum: MD5(pw salt pw).
	alt := md5.New()
	alt.Write(p)
	alt.Write(s)
	alt.Write(p)
	final := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(p)
	ctx.Write([]byte(magic))
	ctx.Write(s)
	for pl := len(p); pl > 0; pl -= 16 {
		ctx.Write(final[:min(pl, 16)])
	}
	// "Then something really weird...": per bit of len(pw), a NUL byte for
	// a 1, the first byte of the password for a 0.
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(p[:1])
		}
	}
	final = ctx.Sum(final[:0])

	// 1000 rounds "to slow things down".
	h := md5.New()
	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(p)
		}
		final = h.Sum(final[:0])
	}

	out := make([]byte, 0, len(magic)+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	for _, o := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = b64From24(out, final[o[0]], final[o[1]], final[o[2]], 4)
	}
	out = b64From24(out, 0, 0, final[11], 2)
	return string(out)
}
