package userlist

import (
	"bytes"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Scheme is the authentication scheme of an Authorization header.
type Scheme uint8

const (
	SchemeNone   Scheme = iota // no header, an unknown scheme, or malformed credentials
	SchemeBasic                // RFC 7617
	SchemeBearer               // RFC 6750
)

func (s Scheme) String() string {
	switch s {
	case SchemeBasic:
		return "Basic"
	case SchemeBearer:
		return "Bearer"
	}
	return ""
}

// MaxCredentials bounds the base64 part of a Basic header. HAProxy decodes
// into one buffer (tune.bufsize, 16 kB by default) that the whole request
// head must fit in as well, so no credentials HAProxy reads are longer.
const MaxCredentials = 16384

// Authorization is the parsed Authorization header of a request.
type Authorization struct {
	Scheme Scheme
	// Data is what follows the scheme and its spaces (the token of a
	// Bearer header, the base64 credentials of a Basic one).
	Data string
	// User and Pass are a Basic header's credentials; they alias the
	// buffer given to ParseAuthorization.
	User, Pass []byte
}

// ParseAuthorization reads the request's Authorization header as HAProxy's
// get_http_auth does (the scheme up to the first space, any number of
// spaces, then the data; Basic credentials are base64 of "user:password"),
// and more strictly, since these are credentials and must mean one thing:
//
//   - two or more Authorization headers, or a value with a comma (a list,
//     which HAProxy cuts at the first comma), are no credentials;
//   - the scheme is "Basic" or "Bearer" in any case, exactly (HAProxy takes
//     any prefix of them, "B" included);
//   - the base64 is standard, padded, and at most MaxCredentials long;
//   - decoded credentials with a NUL byte (which HAProxy's C strings cut
//     short) or without ':' are no credentials.
//
// Decoded credentials go to buf, which is returned grown for reuse.
// Scheme is SchemeNone when nothing usable was found.
func ParseAuthorization(h httpmsg.Headers, buf []byte) (Authorization, []byte) {
	return ParseAuthorizationIn(h, "Authorization", buf)
}

// ParseAuthorizationIn is ParseAuthorization on the header called name
// (Proxy-Authorization under "option http-use-proxy-header").
func ParseAuthorizationIn(h httpmsg.Headers, name string, buf []byte) (Authorization, []byte) {
	var a Authorization
	var v string
	n := 0
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			v = h[i].Value
			n++
		}
	}
	if n != 1 {
		return a, buf
	}
	return ParseAuthorizationValue(v, buf)
}

// ParseAuthorizationValue parses one Authorization header value; see
// ParseAuthorization.
func ParseAuthorizationValue(v string, buf []byte) (Authorization, []byte) {
	var a Authorization
	v = strings.Trim(v, " \t")
	sp := strings.IndexByte(v, ' ')
	if sp <= 0 || strings.IndexByte(v, ',') >= 0 {
		return a, buf
	}
	scheme, data := v[:sp], strings.TrimLeft(v[sp:], " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if data == "" {
			return a, buf
		}
		a.Scheme, a.Data = SchemeBearer, data
		return a, buf
	case !strings.EqualFold(scheme, "Basic"):
		return a, buf
	}
	if len(data) == 0 || len(data)%4 != 0 || len(data) > MaxCredentials {
		return a, buf
	}
	var ok bool
	if buf, ok = appendBase64(buf[:0], data); !ok {
		return a, buf
	}
	cred := buf
	colon := bytes.IndexByte(cred, ':')
	if colon < 0 || bytes.IndexByte(cred, 0) >= 0 {
		return a, buf
	}
	a.Scheme, a.Data = SchemeBasic, data
	a.User, a.Pass = cred[:colon], cred[colon+1:]
	return a, buf
}

// b64Val is the value of a standard base64 character, 0xff for any other.
func b64Val(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return 0xff
}

// appendBase64 decodes padded standard base64 (a multiple of 4 long) onto
// dst: '=' only as the last one or two characters of the last group, no
// other byte than the alphabet. Bits past the data are ignored, as
// HAProxy's base64dec and RFC 4648's non-strict decoders ignore them.
func appendBase64(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i += 4 {
		c0, c1, c2, c3 := b64Val(s[i]), b64Val(s[i+1]), b64Val(s[i+2]), b64Val(s[i+3])
		pad := 0
		if i+4 == len(s) {
			switch {
			case s[i+2] == '=' && s[i+3] == '=':
				pad, c2, c3 = 2, 0, 0
			case s[i+3] == '=':
				pad, c3 = 1, 0
			}
		}
		if c0 > 63 || c1 > 63 || c2 > 63 || c3 > 63 {
			return dst, false
		}
		w := uint32(c0)<<18 | uint32(c1)<<12 | uint32(c2)<<6 | uint32(c3)
		dst = append(dst, byte(w>>16))
		if pad < 2 {
			dst = append(dst, byte(w>>8))
		}
		if pad < 1 {
			dst = append(dst, byte(w))
		}
	}
	return dst, true
}
