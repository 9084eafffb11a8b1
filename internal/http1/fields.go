package http1

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// str views b as a string without copying. b must be arena memory, which is
// never written again while strings point into it (see Reader).
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// parseField splits one field line (terminator removed) into name and value.
func parseField(line []byte, resp, invalid bool) (name, value []byte, err *ProtocolError) {
	if len(line) == 0 {
		return nil, nil, perr(resp, 400, "empty field line")
	}
	if isOWS(line[0]) {
		// RFC 9112 §5.2: obs-fold is rejected outside message/http.
		return nil, nil, perr(resp, 400, "obsolete line folding")
	}
	i := 0
	for i < len(line) && charClass[line[i]]&cToken != 0 {
		i++
	}
	if invalid && i < len(line) && line[i] != ':' {
		return parseInvalidField(line, resp)
	}
	if i == len(line) {
		return nil, nil, perr(resp, 400, "field without colon")
	}
	switch c := line[i]; {
	case c == ':' && i > 0:
	case isOWS(c):
		// RFC 9112 §5.1: whitespace before the colon MUST be rejected.
		return nil, nil, perr(resp, 400, "whitespace between field name and colon")
	case c == '\r':
		return nil, nil, perr(resp, 400, "bare CR in field")
	default:
		return nil, nil, perr(resp, 400, "invalid character in field name")
	}
	name = line[:i]
	v := line[i+1:]
	if !validValue(v) {
		return nil, nil, perr(resp, 400, "invalid character in field value")
	}
	return name, trimOWS(v), nil
}

// parseInvalidField is parseField under "option accept-invalid-http-*":
// as HAProxy 2.6, a field name may hold any byte but ':', CR and LF
// (space, controls, bytes 0x80-0xff). Two things stay refused, as
// request smuggling guards HAProxy lacks: a bare CR, and a name that is
// Content-Length, Transfer-Encoding, Host or Connection once its
// whitespace is trimmed, which a lenient server would read as that field
// while the proxy framed the message without it.
func parseInvalidField(line []byte, resp bool) (name, value []byte, err *ProtocolError) {
	i := bytes.IndexByte(line, ':')
	switch {
	case i < 0:
		return nil, nil, perr(resp, 400, "field without colon")
	case i == 0:
		return nil, nil, perr(resp, 400, "invalid character in field name")
	case bytes.IndexByte(line[:i], '\r') >= 0:
		return nil, nil, perr(resp, 400, "bare CR in field")
	}
	name = line[:i]
	if t := bytes.TrimFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }); len(t) != len(name) {
		for _, f := range []string{"content-length", "transfer-encoding", "host", "connection"} {
			if eqFold(t, f) {
				return nil, nil, perr(resp, 400, "whitespace around a framing field's name")
			}
		}
	}
	v := line[i+1:]
	if !validValue(v) {
		return nil, nil, perr(resp, 400, "invalid character in field value")
	}
	return name, trimOWS(v), nil
}

// validValue reports whether v holds only field-vchar, SP and HTAB: no NUL,
// no bare CR or LF, no other control characters.
func validValue(v []byte) bool {
	// Eight bytes at a time: a word with no byte below 0x20 and none equal to
	// 0x7f is valid (bytes >= 0x80 are obs-text). Only flagged words fall back
	// to the byte loop, which also admits HTAB.
	const lo = 0x0101010101010101
	const hi = 0x8080808080808080
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		less := (x - lo*0x20) &^ x & hi
		y := x ^ (lo * 0x7f)
		del := (y - lo) &^ y & hi
		if less|del != 0 && !allClass(v[:8], cValue) {
			return false
		}
		v = v[8:]
	}
	return allClass(v, cValue)
}

// validValueStr is validValue for a string, viewed in place (read only).
func validValueStr(s string) bool { return validValue(bytesOf(s)) }

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// parseFields parses field lines from b[i:] up to the empty line into h.
// At most max fields count (tune.http.maxhdr): a Connection field naming
// only close or keep-alive does not, as HAProxy's parser drops it from its
// header list.
func parseFields(b []byte, i int, h *httpmsg.Headers, max int, resp, invalid bool) (int, error) {
	n := 0
	for {
		line, next := nextLine(b, i)
		i = next
		if len(line) == 0 {
			return i, nil
		}
		name, value, err := parseField(line, resp, invalid)
		if err != nil {
			return i, err
		}
		if !eqFold(name, "connection") || !onlyPersistence(value) {
			if n >= max {
				if resp {
					return i, perr(true, 502, "too many header fields")
				}
				// HAProxy answers 400, not 431.
				return i, &ProtocolError{Status: 400, Msg: "too many header fields"}
			}
			n++
		}
		*h = append(*h, httpmsg.Header{Name: str(name), Value: str(value)})
	}
}

// onlyPersistence reports whether a Connection value has no token but
// close and keep-alive.
func onlyPersistence(v []byte) bool {
	for len(v) > 0 {
		tok := v
		if c := bytes.IndexByte(v, ','); c >= 0 {
			tok, v = v[:c], v[c+1:]
		} else {
			v = nil
		}
		tok = trimOWS(tok) // bytes.Trim builds its cutset on every call
		if len(tok) > 0 && !eqFold(tok, "close") && !eqFold(tok, "keep-alive") {
			return false
		}
	}
	return true
}
