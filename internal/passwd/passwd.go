// Package passwd verifies passwords against the crypt(3) hashes HAProxy's
// userlists hold ("user NAME password HASH"): SHA-512 and SHA-256 crypt
// ($6$, $5$, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"),
// bcrypt ($2a$, $2b$, $2y$, golang.org/x/crypto/bcrypt) and MD5-crypt
// ($1$, Poul-Henning Kamp's FreeBSD md5crypt, accepted but weak).
//
// HAProxy hands the hash to the C library's crypt(3), so it takes whatever
// that library knows (DES, yescrypt, ...). Gatehouse refuses the others by
// name at load time instead, and it parses the hashes it takes strictly
// (salt and digest of the right alphabet and length, rounds in range) the
// way libxcrypt, the library HAProxy uses on Linux, does: a hash that
// could never match is a configuration error, not a silent lock-out.
package passwd

import (
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Scheme is a hash format.
type Scheme uint8

const (
	SHA512 Scheme = iota + 1 // $6$
	SHA256                   // $5$
	Bcrypt                   // $2a$, $2b$, $2y$
	MD5                      // $1$
)

func (s Scheme) String() string {
	switch s {
	case SHA512:
		return "SHA-512 crypt"
	case SHA256:
		return "SHA-256 crypt"
	case Bcrypt:
		return "bcrypt"
	case MD5:
		return "MD5-crypt"
	}
	return "unknown"
}

// Hash is a parsed password hash.
type Hash struct {
	scheme Scheme
	raw    string
	salt   string // SHA and MD5 crypt: the salt, without rounds
	rounds int    // SHA crypt: the rounds; 0 when the hash names none
	// problem says why no password can match the hash ("" when one can):
	// a known format whose settings or digest crypt(3) would never
	// reproduce, like the redacted hashes of published configurations.
	problem string
}

// Problem is non-empty when no password can match the hash: HAProxy
// accepts such a hash (crypt(3) computes something from its settings, or
// fails) and refuses every password, and so does Gatehouse, with a warning.
func (h *Hash) Problem() string { return h.problem }

func unmatchable(sch Scheme, s, format string, args ...any) (*Hash, error) {
	return &Hash{scheme: sch, raw: s, problem: fmt.Sprintf(format, args...)}, nil
}

// Scheme returns the hash's format.
func (h *Hash) Scheme() Scheme { return h.scheme }

// Weak reports a format that is fast to brute-force (MD5-crypt).
func (h *Hash) Weak() bool { return h.scheme == MD5 }

// String names the hash format (never the hash).
func (h *Hash) String() string { return h.scheme.String() }

// crypt64 is crypt(3)'s base-64 alphabet.
const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func isCrypt64(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(crypt64, s[i]) < 0 {
			return false
		}
	}
	return true
}

// Parse parses a crypt(3) hash of a format Gatehouse verifies.
func Parse(s string) (*Hash, error) {
	switch {
	case strings.HasPrefix(s, "$6$"):
		return parseSHA(s, SHA512, 86)
	case strings.HasPrefix(s, "$5$"):
		return parseSHA(s, SHA256, 43)
	case strings.HasPrefix(s, "$1$"):
		return parseMD5(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$2"):
		return nil, fmt.Errorf("unsupported bcrypt variant '%s' (expected $2a$, $2b$ or $2y$)", prefix(s))
	case strings.HasPrefix(s, "$y$"), strings.HasPrefix(s, "$7$"), strings.HasPrefix(s, "$gy$"):
		return nil, fmt.Errorf("yescrypt/scrypt hashes ('%s') are not supported by Gatehouse; use SHA-512 crypt ($6$), SHA-256 crypt ($5$) or bcrypt ($2b$)", prefix(s))
	case strings.HasPrefix(s, "$"):
		return nil, fmt.Errorf("unsupported hash format '%s'; Gatehouse verifies SHA-512 crypt ($6$), SHA-256 crypt ($5$), bcrypt ($2a$/$2b$/$2y$) and MD5-crypt ($1$)", prefix(s))
	case s == "":
		return nil, fmt.Errorf("empty password hash")
	case len(s) == 13 || strings.HasPrefix(s, "_"):
		return nil, fmt.Errorf("DES crypt hashes are not supported by Gatehouse (8-character passwords, broken); use SHA-512 crypt ($6$), SHA-256 crypt ($5$) or bcrypt ($2b$)")
	}
	return nil, fmt.Errorf("unrecognized password hash; Gatehouse verifies SHA-512 crypt ($6$), SHA-256 crypt ($5$), bcrypt ($2a$/$2b$/$2y$) and MD5-crypt ($1$)")
}

// prefix is the "$id$" part of s, for messages (never the secret part).
func prefix(s string) string {
	if i := strings.IndexByte(s[1:], '$'); i >= 0 {
		return s[:i+2]
	}
	if len(s) > 4 {
		return s[:4] + "..."
	}
	return s
}

// parseSHA reads "$5$[rounds=N$]SALT$DIGEST" as libxcrypt reads it:
// rounds from 1000 to 999999999 without a leading zero, a salt of at most
// 16 characters (longer ones are cut to 16 by crypt, so they could never
// match what it prints), and a digest of the scheme's length. Anything
// else makes a hash no password matches.
func parseSHA(s string, sch Scheme, digestLen int) (*Hash, error) {
	rest := s[3:]
	h := &Hash{scheme: sch, raw: s}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		if !found || num == "" || num[0] < '1' || num[0] > '9' {
			return unmatchable(sch, s, "%s: invalid 'rounds=' (a number from 1000 to 999999999 is expected)", sch)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < shaRoundsMin || n > shaRoundsMax {
			return unmatchable(sch, s, "%s: rounds=%s out of range (1000 to 999999999)", sch, num)
		}
		h.rounds, rest = n, after
	}
	salt, digest, found := strings.Cut(rest, "$")
	if !found {
		return unmatchable(sch, s, "%s: missing '$' between the salt and the digest", sch)
	}
	if len(salt) > 16 || strings.ContainsAny(salt, ":\n") {
		return unmatchable(sch, s, "%s: invalid salt (at most 16 characters, no ':')", sch)
	}
	if len(digest) != digestLen || !isCrypt64(digest) {
		return unmatchable(sch, s, "%s: the digest must be %d characters of [./0-9A-Za-z]", sch, digestLen)
	}
	h.salt = salt
	return h, nil
}

func parseMD5(s string) (*Hash, error) {
	salt, digest, found := strings.Cut(s[3:], "$")
	if !found {
		return unmatchable(MD5, s, "%s: missing '$' between the salt and the digest", MD5)
	}
	if len(salt) > 8 || strings.ContainsAny(salt, ":\n") {
		return unmatchable(MD5, s, "%s: invalid salt (at most 8 characters, no ':')", MD5)
	}
	if len(digest) != 22 || !isCrypt64(digest) {
		return unmatchable(MD5, s, "%s: the digest must be 22 characters of [./0-9A-Za-z]", MD5)
	}
	return &Hash{scheme: MD5, raw: s, salt: salt}, nil
}

// parseBcrypt checks "$2b$CC$" + 22 salt + 31 hash characters, cost 4..31.
func parseBcrypt(s string) (*Hash, error) {
	if len(s) != 60 || s[6] != '$' || !isCrypt64(s[7:]) {
		return unmatchable(Bcrypt, s, "%s: expected '%s' followed by a 2-digit cost, '$' and 53 characters of [./0-9A-Za-z]", Bcrypt, s[:4])
	}
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return unmatchable(Bcrypt, s, "%s: %v", Bcrypt, err)
	}
	return &Hash{scheme: Bcrypt, raw: s}, nil
}

// Verify reports whether password hashes to h, comparing in constant
// time. It costs what the hash's format and rounds cost (bcrypt at cost
// 10: some 50 ms); callers cache the result.
func (h *Hash) Verify(password string) bool {
	if h.problem != "" {
		return false
	}
	var got string
	switch h.scheme {
	case SHA512, SHA256:
		got = shaCrypt(h.scheme, password, h.salt, h.rounds)
	case MD5:
		got = md5Crypt(password, h.salt)
	case Bcrypt:
		return bcrypt.CompareHashAndPassword([]byte(h.raw), []byte(password)) == nil
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.raw)) == 1
}
