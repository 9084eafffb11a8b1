package logging

// A log line is built as HAProxy 2.6's sess_build_logline builds it in a
// buffer of the configuration's largest "len" (global.max_syslog_len),
// which keeps one byte for its NUL. What a field that does not fit leaves
// depends on how HAProxy writes it:
//   - separators, literal text, unquoted strings and the %ts characters
//     are cut where the line ends;
//   - a number, a date or a quoted string goes whole or not at all, and
//     the line ends before it;
//   - the request line, its parts and the captured headers are cut in
//     their value, but a '#XX' (or +E '\x') escape is written only with
//     one byte left after it; a value cut that way still gets its
//     closing quote or brace, and the next fields are tried in the room
//     left.

// WithLineLen returns a copy of f whose lines are bounded as HAProxy
// bounds a log line built in a buffer of n bytes: at most n-1 bytes, cut
// field by field. n <= 0 leaves them unbounded.
func (f *Format) WithLineLen(n int) *Format {
	g := *f
	g.lineLen = n
	return &g
}

// appendBounded is Append under f.lineLen.
func (f *Format) appendBounded(dst []byte, c *Context) []byte {
	end := len(dst) + f.lineLen - 1 // where the line must stop
	lastSpace := true
	for i := range f.nodes {
		n := &f.nodes[i]
		switch n.id {
		case vSep:
			if !lastSpace {
				if len(dst) >= end {
					return dst
				}
				dst = append(dst, ' ')
				lastSpace = true
			}
			continue
		case vLiteral:
			k := min(len(n.lit), end-len(dst))
			if k <= 0 {
				return dst
			}
			dst = append(dst, n.lit[:k]...)
			lastSpace = false
			continue
		}
		start := len(dst)
		if (n.id == vHdrReqList || n.id == vHdrResList) && n.opts&optJSON == 0 {
			caps := c.ReqCaptures
			if n.id == vHdrResList {
				caps = c.ResCaptures
			}
			var ok bool
			if dst, ok = appendCapListBounded(dst, caps, n.opts, end-start); !ok {
				return dst
			}
		} else {
			dst = appendVar(dst, n, c)
			// Short of the end, even a final escape has its byte after.
			if len(dst) >= end {
				var ok bool
				if dst, ok = cutField(dst, start, end-start, n.id, n.opts); !ok {
					return dst
				}
			}
		}
		if len(dst) != start || n.id == vExpr {
			lastSpace = false
		}
	}
	return dst
}

type cutRule uint8

const (
	cutRaw     cutRule = iota // cut where the line ends
	cutWhole                  // all or nothing, and the line ends
	cutText                   // lf_text_len: whole when quoted, else raw
	cutEncoded                // '#XX'-encoded value between structural bytes
)

func ruleOf(id varID, o opt) cutRule {
	if o&(optJSON|optHTTP) != 0 {
		return cutRaw // no HAProxy 2.6 counterpart to follow
	}
	switch id {
	case vTh, vTi, vTR, vTq, vTw, vTc, vTr, vTd, vTa, vTt, vTu, vStatus, vBytesOut, vBytesIn,
		vActConn, vFeConn, vBeConn, vSrvConn, vRetries, vSrvQueue, vBeQueue,
		vClientPort, vFrontPort, vBackPort, vServerPort, vTs, vMs, vPID, vReqCounter, vLogCounter,
		vDate, vDateGMT, vDateLocal, vReqDate, vReqDateGMT, vReqDateLocal:
		return cutWhole
	case vExpr, vFrontend, vBackend, vServer, vUniqueID, vHostname, vSSLVersion, vSSLCipher,
		vCookieReq, vCookieRes, vClientIP, vFrontIP, vBackIP, vServerIP:
		if o&optHex != 0 {
			return cutWhole // snprintf'd addresses
		}
		return cutText
	case vRequest, vMethod, vURI, vPath, vPathOnly, vQuery, vVersion, vHdrReq, vHdrRes:
		return cutEncoded
	}
	return cutRaw
}

// cutField bounds the field just written at dst[start:] to room bytes by
// the rule of its kind. ok false: the line ends here.
func cutField(dst []byte, start, room int, id varID, o opt) ([]byte, bool) {
	out, rule := dst[start:], ruleOf(id, o)
	if len(out) <= room && rule != cutEncoded {
		return dst, true
	}
	switch rule {
	case cutWhole:
		// A '+' (logasap, redispatch) is written on its own before the
		// number.
		if len(out) > 0 && out[0] == '+' && room >= 1 {
			return dst[:start+1], false
		}
		return dst[:start], false
	case cutText:
		if o&optQuote != 0 {
			return dst[:start], false
		}
	case cutEncoded:
		if len(out) < room {
			return dst, true // even a final escape leaves a byte
		}
		return cutEncodedField(dst, start, room, o)
	}
	return dst[:start+max(room, 0)], true
}

// cutEncodedField walks an encoded field: its quotes, braces and '|' are
// written one by one while room is left (the line ends at the first that
// does not fit), its values byte by byte, and an escape only when a byte
// would be left after it; a value stops at the first escape that does not
// fit, the next structural byte goes on.
func cutEncodedField(dst []byte, start, room int, o opt) ([]byte, bool) {
	w, broken := start, false
	for r := start; r < len(dst); {
		b := dst[r]
		if b == '"' || b == '{' || b == '|' || b == '}' {
			if w-start >= room {
				return dst[:w], false
			}
			dst[w] = b
			w, r, broken = w+1, r+1, false
			continue
		}
		u := 1
		if b == '#' {
			u = 3
		} else if b == '\\' && o&optEsc != 0 {
			u = 2
		}
		left := room - (w - start)
		if !broken && (u == 1 && left >= 1 || u > 1 && u < left) {
			copy(dst[w:], dst[r:r+u])
			w += u
		} else {
			broken = true
		}
		r += u
	}
	return dst[:w], true
}

// appendCapListBounded writes %hrl/%hsl under room bytes: the spaces, the
// quotes and the '-' of an absent header go one by one, each value is cut
// like an encoded field.
func appendCapListBounded(dst []byte, caps []string, o opt, room int) ([]byte, bool) {
	base := len(dst)
	for i, v := range caps {
		left := room - (len(dst) - base)
		if i > 0 {
			if left < 1 {
				return dst, false
			}
			dst = append(dst, ' ')
			left--
		}
		start := len(dst)
		dst = appendText(dst, v, o, encHdr)
		if v == "" && o&optQuote == 0 {
			if left < 1 {
				return dst[:start], false
			}
			continue
		}
		var ok bool
		if dst, ok = cutEncodedField(dst, start, left, o); !ok {
			return dst, false
		}
	}
	return dst, true
}
