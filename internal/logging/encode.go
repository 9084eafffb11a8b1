package logging

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// opt is the set of per-node options set by "%{+X,-Q}" flags.
type opt uint8

const (
	optQuote opt = 1 << iota // +Q: enclose strings in double quotes
	optHex                   // +X: hexadecimal for numbers and addresses
	optEsc                   // +E: backslash-escape '"', '\' and ']' (RFC 5424 PARAM-VALUE)
	optJSON                  // +json: JSON values (strings quoted and escaped, missing -> null)
	// optHTTP marks a sample of an HTTP rule's format (HAProxy's
	// LOG_OPT_HTTP): an absent or empty sample writes nothing, not "-".
	optHTTP
)

// enc selects the '#XX' encoding applied to a string (configuration.txt 8.6).
type enc uint8

const (
	// encNone still encodes control characters (< 32 and 127): a value a
	// client controls (a sample, a unique id built from headers) must never
	// put a raw CR, LF or NUL into a log line. HAProxy 2.6 copies samples
	// raw; with nothing else to escape they are written unchanged here too.
	encNone enc = iota
	encURL      // request line and its parts: '"', '#', < 32 and >= 127
	encHdr      // captured headers: as encURL plus '{', '|', '}'
)

func isCtl(b byte) bool { return b < 32 || b == 127 }

func needsEnc(e enc, b byte) bool {
	switch e {
	case encNone:
		return isCtl(b)
	case encURL:
		return b < 32 || b >= 127 || b == '"' || b == '#'
	case encHdr:
		return b < 32 || b >= 127 || b == '"' || b == '#' || b == '{' || b == '|' || b == '}'
	}
	return false
}

func needsEsc(b byte) bool { return b == '"' || b == '\\' || b == ']' }

const hexUpper = "0123456789ABCDEF"

// appendRaw writes s with the '#XX' encoding e and, with optEsc, the
// backslash escaping of RFC 5424 parameter values.
func appendRaw(dst []byte, s string, o opt, e enc) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if needsEnc(e, b) {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '#', hexUpper[b>>4], hexUpper[b&15])
			start = i + 1
		} else if o&optEsc != 0 && needsEsc(b) {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', b)
			start = i + 1
		}
	}
	return append(dst, s[start:]...)
}

// escapeCtlInPlace '#XX'-encodes the control characters of dst[from:],
// for values written in place before they could be inspected.
func escapeCtlInPlace(dst []byte, from int) []byte {
	i := from
	for i < len(dst) && !isCtl(dst[i]) {
		i++
	}
	if i == len(dst) {
		return dst
	}
	tail := append([]byte(nil), dst[i:]...)
	return appendRaw(dst[:i], bytesView(tail), 0, encNone)
}

// httpEncodeInPlace '%XX'-encodes the bytes of dst[from:] an HTTP field
// value cannot hold (CTLs but HTAB, and DEL), as HAProxy's http_encode_map.
func httpEncodeInPlace(dst []byte, from int) []byte {
	bad := func(b byte) bool { return b < 32 && b != '\t' || b == 127 }
	i := from
	for i < len(dst) && !bad(dst[i]) {
		i++
	}
	if i == len(dst) {
		return dst
	}
	tail := append([]byte(nil), dst[i:]...)
	dst = dst[:i]
	for _, b := range tail {
		if bad(b) {
			dst = append(dst, '%', hexUpper[b>>4], hexUpper[b&15])
		} else {
			dst = append(dst, b)
		}
	}
	return dst
}

// appendJSONString writes s as a JSON string, quotes included. Invalid UTF-8
// becomes U+FFFD so the output is always valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONBody(dst, s)
	return append(dst, '"')
}

// appendJSONBody writes s escaped for the inside of a JSON string. DEL is
// escaped too, so no control byte reaches the line raw.
func appendJSONBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != 0x7f && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexUpper[b>>4], hexUpper[b&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendText writes a string field the way HAProxy's lf_text_len does: an
// empty value is "-" unless quoted (then ""); with +json it is a JSON string
// or null.
func appendText(dst []byte, s string, o opt, e enc) []byte {
	if o&optJSON != 0 {
		if s == "" {
			return append(dst, "null"...)
		}
		return appendJSONString(dst, s)
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
		dst = appendRaw(dst, s, o, e)
		return append(dst, '"')
	}
	if s == "" {
		return append(dst, '-')
	}
	return appendRaw(dst, s, o, e)
}

// appendInt writes a numeric field. Numbers are never quoted (HAProxy's
// ltoa); +X writes uppercase hexadecimal with at least hexWidth digits for
// the fields where HAProxy supports it (hexWidth > 0).
func appendInt(dst []byte, v int64, o opt, hexWidth int) []byte {
	if o&optHex != 0 && hexWidth > 0 && v >= 0 {
		return appendHex(dst, uint64(v), hexWidth)
	}
	if v >= 0 && v < 10 { // counters and timers are mostly single digits
		return append(dst, byte('0'+v))
	}
	return strconv.AppendInt(dst, v, 10)
}

func appendHex(dst []byte, v uint64, width int) []byte {
	var buf [16]byte
	i := len(buf)
	for v > 0 || len(buf)-i < width {
		i--
		buf[i] = hexUpper[v&15]
		v >>= 4
		if i == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// appendIP writes an address like HAProxy's lf_ip: dotted quad or RFC 5952
// text (v4-mapped addresses stay "::ffff:a.b.c.d", as inet_ntop prints
// them); +X gives the address bytes in hex. An unknown address is "-".
func appendIP(dst []byte, a netip.Addr, o opt) []byte {
	if !a.IsValid() {
		return appendText(dst, "", o, encNone)
	}
	if o&optHex != 0 {
		if a.Is4() {
			b := a.As4()
			for _, x := range b {
				dst = append(dst, hexUpper[x>>4], hexUpper[x&15])
			}
		} else {
			b := a.As16()
			for _, x := range b {
				dst = append(dst, hexUpper[x>>4], hexUpper[x&15])
			}
		}
		return dst
	}
	json := o&optJSON != 0
	if json || o&optQuote != 0 {
		dst = append(dst, '"')
	}
	dst = a.WithZone("").AppendTo(dst)
	if json || o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

// appendPort writes a port like HAProxy's lf_port; "-" when unknown.
func appendPort(dst []byte, ap netip.AddrPort, o opt) []byte {
	if !ap.IsValid() {
		return appendText(dst, "", o, encNone)
	}
	if o&optHex != 0 {
		return appendHex(dst, uint64(ap.Port()), 4)
	}
	return strconv.AppendUint(dst, uint64(ap.Port()), 10)
}

const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10%10), byte('0'+v%10))
}

func append3(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendLogDate writes "dd/Mmm/yyyy:hh:mm:ss" and, with ms, ".mmm"
// (HAProxy's date2str_log), in t's location.
func appendLogDate(dst []byte, t time.Time, ms bool) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append2(dst, d)
	dst = append(dst, '/')
	dst = append(dst, monthNames[(mo-1)*3:(mo-1)*3+3]...)
	dst = append(dst, '/')
	dst = append4(dst, y)
	dst = append(dst, ':')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	if ms {
		dst = append(dst, '.')
		dst = append3(dst, t.Nanosecond()/1e6)
	}
	return dst
}

// appendZoneOffset writes "+hhmm" (colon false) or "+hh:mm" (colon true).
func appendZoneOffset(dst []byte, t time.Time, colon bool) []byte {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	off /= 60
	dst = append(dst, sign)
	dst = append2(dst, off/60)
	if colon {
		dst = append(dst, ':')
	}
	return append2(dst, off%60)
}

// appendISOTime writes "yyyy-mm-ddThh:mm:ss.uuuuuu+hh:mm" (RFC 3339 with
// microseconds, as HAProxy's rfc5424/iso/timed headers).
func appendISOTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(mo))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, '.')
	us := t.Nanosecond() / 1000
	dst = append3(dst, us/1000)
	dst = append3(dst, us%1000)
	return appendZoneOffset(dst, t, true)
}
