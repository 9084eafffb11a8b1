package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// OpenSSL cipher strings ("ciphers", "ssl-default-bind-ciphers") select
// TLS <= 1.2 suites. ParseCipherString runs OpenSSL's selection algorithm
// (ssl/ssl_ciph.c: an ordered list of every suite, rules that add, move,
// delete or kill the suites an alias matches, @STRENGTH) over the suites Go
// implements. Every rule acts on each suite by its own attributes alone, so
// running it over a subset gives that subset in the order OpenSSL gives it:
// the result is OpenSSL's list with the suites Go lacks left out, which the
// tests check against "openssl ciphers" on the machine.

// Attribute bits, one set per OpenSSL algorithm field.
const (
	kRSA uint32 = 1 << iota
	kECDHE
	kDHE // only in aliases: no suite here uses it
	kPSK
)

const (
	aRSA uint32 = 1 << iota
	aECDSA
	aDSS
	aNULL
	aPSK
)

const (
	eAES128 uint32 = 1 << iota
	eAES256
	eAES128GCM
	eAES256GCM
	eCHACHA20
	eAESCCM
	e3DES
	eRC4
	eCAMELLIA
	eARIA
	eNULL
	eOther // IDEA, SEED, RC2, GOST: never in a suite here

	eAESGCM = eAES128GCM | eAES256GCM
	eAES    = eAES128 | eAES256 | eAESGCM | eAESCCM
	eCBC    = eAES128 | eAES256 | e3DES | eCAMELLIA | eOther
)

const (
	mSHA1 uint32 = 1 << iota
	mSHA256
	mSHA384
	mAEAD
	mMD5
	mOther
)

const (
	sHIGH uint32 = 1 << iota
	sMEDIUM
	sLOW
	sFIPS
	sNotDefault

	strongMask  = sHIGH | sMEDIUM | sLOW | sFIPS
	defaultMask = sNotDefault
)

const (
	verSSL3  = 0x0300
	verTLS1  = 0x0301
	verTLS12 = 0x0303
)

// cipherInfo is one suite with OpenSSL's attributes for it.
type cipherInfo struct {
	name                 string // OpenSSL's name
	id                   uint16
	mkey, auth, enc, mac uint32
	minTLS               int
	strength             uint32
	bits                 int
}

// goCiphers are the TLS <= 1.2 suites Go implements, minus RC4 and 3DES
// (OpenSSL 3 offers neither), in the order OpenSSL's list of all suites has
// them before any rule runs ("openssl ciphers ALL").
var goCiphers = []cipherInfo{
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, kECDHE, aECDSA, eAES256GCM, mAEAD, verTLS12, sHIGH | sFIPS, 256},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, kECDHE, aRSA, eAES256GCM, mAEAD, verTLS12, sHIGH | sFIPS, 256},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, kECDHE, aECDSA, eCHACHA20, mAEAD, verTLS12, sHIGH, 256},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, kECDHE, aRSA, eCHACHA20, mAEAD, verTLS12, sHIGH, 256},
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, kECDHE, aECDSA, eAES128GCM, mAEAD, verTLS12, sHIGH | sFIPS, 128},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, kECDHE, aRSA, eAES128GCM, mAEAD, verTLS12, sHIGH | sFIPS, 128},
	{"ECDHE-ECDSA-AES128-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, kECDHE, aECDSA, eAES128, mSHA256, verTLS12, sHIGH | sFIPS, 128},
	{"ECDHE-RSA-AES128-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, kECDHE, aRSA, eAES128, mSHA256, verTLS12, sHIGH | sFIPS, 128},
	{"ECDHE-ECDSA-AES256-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, kECDHE, aECDSA, eAES256, mSHA1, verTLS1, sHIGH | sFIPS, 256},
	{"ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, kECDHE, aRSA, eAES256, mSHA1, verTLS1, sHIGH | sFIPS, 256},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, kECDHE, aECDSA, eAES128, mSHA1, verTLS1, sHIGH | sFIPS, 128},
	{"ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, kECDHE, aRSA, eAES128, mSHA1, verTLS1, sHIGH | sFIPS, 128},
	{"AES256-GCM-SHA384", tls.TLS_RSA_WITH_AES_256_GCM_SHA384, kRSA, aRSA, eAES256GCM, mAEAD, verTLS12, sHIGH | sFIPS, 256},
	{"AES128-GCM-SHA256", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, kRSA, aRSA, eAES128GCM, mAEAD, verTLS12, sHIGH | sFIPS, 128},
	{"AES128-SHA256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256, kRSA, aRSA, eAES128, mSHA256, verTLS12, sHIGH | sFIPS, 128},
	{"AES256-SHA", tls.TLS_RSA_WITH_AES_256_CBC_SHA, kRSA, aRSA, eAES256, mSHA1, verSSL3, sHIGH | sFIPS, 256},
	{"AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA, kRSA, aRSA, eAES128, mSHA1, verSSL3, sHIGH | sFIPS, 128},
}

// cipherAlias is an entry of OpenSSL's cipher_aliases table (3.0).
type cipherAlias struct {
	name                 string
	mkey, auth, enc, mac uint32
	minTLS               int
	strength             uint32
}

const all32 = ^uint32(0)

var cipherAliases = []cipherAlias{
	{name: "ALL", enc: all32 &^ eNULL},
	{name: "COMPLEMENTOFALL", enc: eNULL},
	{name: "COMPLEMENTOFDEFAULT", strength: sNotDefault},
	{name: "kRSA", mkey: kRSA},
	{name: "kEDH", mkey: kDHE}, {name: "kDHE", mkey: kDHE}, {name: "DH", mkey: kDHE},
	{name: "kEECDH", mkey: kECDHE}, {name: "kECDHE", mkey: kECDHE}, {name: "ECDH", mkey: kECDHE},
	{name: "kPSK", mkey: kPSK},
	{name: "aRSA", auth: aRSA}, {name: "aDSS", auth: aDSS}, {name: "DSS", auth: aDSS},
	{name: "aNULL", auth: aNULL}, {name: "aECDSA", auth: aECDSA}, {name: "ECDSA", auth: aECDSA},
	{name: "aPSK", auth: aPSK},
	{name: "EDH", mkey: kDHE, auth: all32 &^ aNULL}, {name: "DHE", mkey: kDHE, auth: all32 &^ aNULL},
	{name: "EECDH", mkey: kECDHE, auth: all32 &^ aNULL}, {name: "ECDHE", mkey: kECDHE, auth: all32 &^ aNULL},
	{name: "NULL", enc: eNULL},
	{name: "RSA", mkey: kRSA, auth: aRSA},
	{name: "ADH", mkey: kDHE, auth: aNULL}, {name: "AECDH", mkey: kECDHE, auth: aNULL},
	{name: "PSK", mkey: kPSK},
	{name: "3DES", enc: e3DES}, {name: "RC4", enc: eRC4}, {name: "eNULL", enc: eNULL},
	{name: "IDEA", enc: eOther}, {name: "SEED", enc: eOther}, {name: "RC2", enc: eOther},
	{name: "AES128", enc: eAES128 | eAES128GCM}, {name: "AES256", enc: eAES256 | eAES256GCM},
	{name: "AES", enc: eAES}, {name: "AESGCM", enc: eAESGCM}, {name: "AESCCM", enc: eAESCCM}, {name: "AESCCM8", enc: eAESCCM},
	{name: "CAMELLIA128", enc: eCAMELLIA}, {name: "CAMELLIA256", enc: eCAMELLIA}, {name: "CAMELLIA", enc: eCAMELLIA},
	{name: "CHACHA20", enc: eCHACHA20},
	{name: "ARIA", enc: eARIA}, {name: "ARIAGCM", enc: eARIA}, {name: "ARIA128", enc: eARIA}, {name: "ARIA256", enc: eARIA},
	{name: "CBC", enc: eCBC},
	{name: "MD5", mac: mMD5}, {name: "SHA1", mac: mSHA1}, {name: "SHA", mac: mSHA1},
	{name: "SHA256", mac: mSHA256}, {name: "SHA384", mac: mSHA384},
	{name: "SSLv3", minTLS: verSSL3}, {name: "TLSv1", minTLS: verTLS1}, {name: "TLSv1.0", minTLS: verTLS1},
	{name: "TLSv1.2", minTLS: verTLS12},
	{name: "LOW", strength: sLOW}, {name: "MEDIUM", strength: sMEDIUM}, {name: "HIGH", strength: sHIGH},
	{name: "FIPS", enc: all32 &^ eNULL, strength: sFIPS},
}

// openSSLDefault is OSSL_default_cipher_list() of OpenSSL 3.
const openSSLDefault = "ALL:!COMPLEMENTOFDEFAULT:!eNULL"

type ruleOp int

const (
	opAdd ruleOp = iota
	opKill
	opDel
	opOrd
)

type cipherSel struct {
	list   []*cipherInfo // current order
	active map[*cipherInfo]bool
}

// apply runs one rule: match selects the suites it acts on.
func (s *cipherSel) apply(op ruleOp, match func(*cipherInfo) bool) {
	var hit, rest []*cipherInfo
	switch op {
	case opAdd: // inactive matches become active, moved to the tail in order
		for _, c := range s.list {
			if match(c) && !s.active[c] {
				s.active[c] = true
				hit = append(hit, c)
			} else {
				rest = append(rest, c)
			}
		}
		s.list = append(rest, hit...)
	case opOrd: // active matches move to the tail in order
		for _, c := range s.list {
			if match(c) && s.active[c] {
				hit = append(hit, c)
			} else {
				rest = append(rest, c)
			}
		}
		s.list = append(rest, hit...)
	case opDel: // active matches deactivated, moved to the head in order
		for _, c := range s.list {
			if match(c) && s.active[c] {
				s.active[c] = false
				hit = append(hit, c)
			} else {
				rest = append(rest, c)
			}
		}
		s.list = append(hit, rest...)
	case opKill: // matches leave the list for good
		for _, c := range s.list {
			if match(c) {
				delete(s.active, c)
			} else {
				rest = append(rest, c)
			}
		}
		s.list = rest
	}
}

// strengthSort is @STRENGTH: a stable sort of the active suites by
// descending strength, done as OpenSSL does it with '+' moves.
func (s *cipherSel) strengthSort() {
	for _, bits := range []int{256, 128} {
		s.apply(opOrd, func(c *cipherInfo) bool { return c.bits == bits })
	}
}

func itemSep(c byte) bool { return c == ':' || c == ' ' || c == ';' || c == ',' }

func cipherNameChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '='
}

// rule is the pattern of one element of a cipher string.
type rule struct {
	id                   uint16 // an explicit suite (0: none)
	mkey, auth, enc, mac uint32
	minTLS               int
	strength             uint32
}

func (r *rule) matches(c *cipherInfo) bool {
	switch {
	case r.id != 0 && r.id != c.id,
		r.mkey != 0 && r.mkey&c.mkey == 0,
		r.auth != 0 && r.auth&c.auth == 0,
		r.enc != 0 && r.enc&c.enc == 0,
		r.mac != 0 && r.mac&c.mac == 0,
		r.minTLS != 0 && r.minTLS != c.minTLS,
		r.strength&strongMask != 0 && r.strength&strongMask&c.strength == 0,
		r.strength&defaultMask != 0 && r.strength&defaultMask&c.strength == 0:
		return false
	}
	return true
}

// and narrows r with one alias or suite name of a "A+B" element; false
// when the name is unknown or the intersection is empty (OpenSSL then
// ignores the whole element).
func (r *rule) and(name string) bool {
	var a cipherAlias
	explicit := false
	if c := cipherByName(name); c != nil {
		a = cipherAlias{mkey: c.mkey, auth: c.auth, enc: c.enc, mac: c.mac, strength: c.strength}
		r.id, explicit = c.id, true
	} else {
		found := false
		for _, x := range cipherAliases {
			if x.name == name {
				a, found = x, true
				break
			}
		}
		if !found {
			return false
		}
	}
	narrow := func(dst *uint32, v uint32) bool {
		if v == 0 {
			return true
		}
		if *dst != 0 {
			*dst &= v
			return *dst != 0
		}
		*dst = v
		return true
	}
	if !narrow(&r.mkey, a.mkey) || !narrow(&r.auth, a.auth) || !narrow(&r.enc, a.enc) || !narrow(&r.mac, a.mac) {
		return false
	}
	for _, m := range []uint32{strongMask, defaultMask} {
		if v := a.strength & m; v != 0 {
			if r.strength&m != 0 {
				r.strength &= v | ^m
				if r.strength&m == 0 {
					return false
				}
			} else {
				r.strength |= v
			}
		}
	}
	// An explicit suite's protocol version is not part of the pattern.
	if !explicit && a.minTLS != 0 {
		if r.minTLS != 0 && r.minTLS != a.minTLS {
			return false
		}
		r.minTLS = a.minTLS
	}
	return true
}

func cipherByName(name string) *cipherInfo {
	for i := range goCiphers {
		if goCiphers[i].name == name {
			return &goCiphers[i]
		}
	}
	return nil
}

// processRules applies the elements of a cipher string, as OpenSSL's
// ssl_cipher_process_rulestr.
func (s *cipherSel) processRules(str string) error {
	for i := 0; i < len(str); {
		op := opAdd
		special := false
		switch str[i] {
		case '-':
			op = opDel
			i++
		case '+':
			op = opOrd
			i++
		case '!':
			op = opKill
			i++
		case '@':
			special = true
			i++
		}
		if i < len(str) && itemSep(str[i]) {
			i++
			continue
		}
		var r rule
		found := true
	words:
		for {
			start := i
			for i < len(str) && cipherNameChar(str[i]) {
				i++
			}
			if i == start {
				if i < len(str) {
					return fmt.Errorf("invalid character '%c' in cipher string '%s'", str[i], str)
				}
				return fmt.Errorf("cipher string '%s' ends with an operator and no cipher name", str)
			}
			word := str[start:i]
			if special {
				switch {
				case word == "STRENGTH":
					s.strengthSort()
				case strings.HasPrefix(word, "SECLEVEL=") && len(word) == 10 && word[9] >= '0' && word[9] <= '5':
					// A handshake-time policy on key sizes; every suite
					// here is at least 128 bits, which all levels allow.
				default:
					return fmt.Errorf("invalid command '@%s' in cipher string '%s'", word, str)
				}
				break words
			}
			multi := i < len(str) && str[i] == '+'
			if multi {
				i++
			}
			if strings.HasPrefix(word, "SUITEB") {
				return fmt.Errorf("'%s' (Suite B mode) is not supported", word)
			}
			if !r.and(word) {
				found = false // OpenSSL ignores the rest of the element
				break words
			}
			if !multi {
				break words
			}
		}
		if !special && found {
			// The next element starts right here, separator or not.
			s.apply(op, r.matches)
			continue
		}
		for i < len(str) && !itemSep(str[i]) {
			i++
		}
	}
	return nil
}

// ParseCipherString returns the TLS <= 1.2 suites an OpenSSL cipher string
// selects among those Go implements, in OpenSSL's order. Names OpenSSL or
// Go does not know are skipped, as OpenSSL skips unknown names; a string
// that selects none of Go's suites is an error.
func ParseCipherString(str string) ([]uint16, error) {
	s := &cipherSel{active: map[*cipherInfo]bool{}}
	for i := range goCiphers {
		s.list = append(s.list, &goCiphers[i])
	}
	rest := str
	if strings.HasPrefix(rest, "DEFAULT") {
		if err := s.processRules(openSSLDefault); err != nil {
			return nil, err
		}
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "DEFAULT"), ":")
	}
	if err := s.processRules(rest); err != nil {
		return nil, err
	}
	var ids []uint16
	for _, c := range s.list {
		if s.active[c] {
			ids = append(ids, c.id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("cipher string '%s' selects no cipher suite that Go implements (%s)", str, goCipherNames())
	}
	return ids, nil
}

func goCipherNames() string {
	n := make([]string, len(goCiphers))
	for i, c := range goCiphers {
		n[i] = c.name
	}
	return strings.Join(n, ", ")
}

// CipherName is a suite's OpenSSL name, as HAProxy logs it (%sslc,
// ssl_fc_cipher); TLS 1.3 suites have their standard names.
func CipherName(id uint16) string {
	for _, c := range goCiphers {
		if c.id == id {
			return c.name
		}
	}
	return tls.CipherSuiteName(id)
}

// CipherKeyBits is the symmetric key size of a suite, in bits (0: unknown).
func CipherKeyBits(id uint16) int {
	for _, c := range goCiphers {
		if c.id == id {
			return c.bits
		}
	}
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return 128
	case tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256:
		return 256
	}
	return 0
}

// tls13Suites are the TLS 1.3 suites Go implements; Go always offers all three.
var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// openSSL13Only are TLS 1.3 suites OpenSSL knows and Go does not.
var openSSL13Only = []string{"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}

// CheckCipherSuites checks a TLS 1.3 "ciphersuites" list. Go's TLS 1.3
// suites cannot be restricted, so the list must name all three of them (the
// CCM suites, which Go lacks, may be named too and are skipped); a list that
// leaves one out is refused rather than silently widened.
func CheckCipherSuites(str string) error {
	if str == "" {
		return fmt.Errorf("an empty TLS 1.3 cipher suite list disables TLS 1.3: say 'ssl-max-ver TLSv1.2' instead")
	}
	named := map[string]bool{}
	for _, n := range strings.Split(str, ":") {
		switch {
		case contains(tls13Suites, n):
			named[n] = true
		case contains(openSSL13Only, n):
		default:
			// OpenSSL skips names it does not know.
		}
	}
	var missing []string
	for _, n := range tls13Suites {
		if !named[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("TLS 1.3 cipher suites '%s' leave out %s, which Go's TLS always offers and cannot exclude: "+
			"name all of %s, or refuse TLS 1.3 with 'ssl-max-ver TLSv1.2'", str, strings.Join(missing, ", "), strings.Join(tls13Suites, ":"))
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// curveNames maps OpenSSL group names to Go's curves; nil entries are
// groups OpenSSL knows that Go's TLS does not implement.
var curveNames = map[string][]tls.CurveID{
	"X25519": {tls.X25519}, "x25519": {tls.X25519},
	"P-256": {tls.CurveP256}, "prime256v1": {tls.CurveP256}, "secp256r1": {tls.CurveP256},
	"P-384": {tls.CurveP384}, "secp384r1": {tls.CurveP384},
	"P-521": {tls.CurveP521}, "secp521r1": {tls.CurveP521},
	"X25519MLKEM768": {tls.X25519MLKEM768},
	"X448":           nil, "x448": nil, "secp224r1": nil, "P-224": nil, "secp256k1": nil,
	"brainpoolP256r1": nil, "brainpoolP384r1": nil, "brainpoolP512r1": nil,
	"ffdhe2048": nil, "ffdhe3072": nil, "ffdhe4096": nil, "ffdhe6144": nil, "ffdhe8192": nil,
}

// ParseCurves reads an OpenSSL group list ("X25519:P-256", as "curves" and
// "ecdhe" take it). As OpenSSL, an unknown name is an error; groups OpenSSL
// knows and Go does not implement (X448, ffdhe*) are skipped, and a list
// left with none is an error.
func ParseCurves(str string) ([]tls.CurveID, error) {
	var out []tls.CurveID
	for _, n := range strings.Split(str, ":") {
		ids, ok := curveNames[n]
		if !ok {
			return nil, fmt.Errorf("unknown curve '%s' in '%s'", n, str)
		}
		for _, id := range ids {
			dup := false
			for _, o := range out {
				dup = dup || o == id
			}
			if !dup {
				out = append(out, id)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("curve list '%s' names no curve Go implements (X25519, P-256, P-384, P-521, X25519MLKEM768)", str)
	}
	return out, nil
}
