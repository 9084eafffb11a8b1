package persist

func isSPHT(c byte) bool { return c == ' ' || c == '\t' }

// cookieValueEnd returns the index of the ',' or ';' ending the value that
// starts at s, skipping quoted strings (with backslash pairs), or e.
func cookieValueEnd(b []byte, s, e int) int {
	quoted, qdpair := false, false
	for ; s < e; s++ {
		switch {
		case qdpair:
			qdpair = false
		case quoted:
			if b[s] == '\\' {
				qdpair = true
			} else if b[s] == '"' {
				quoted = false
			}
		case b[s] == '"':
			quoted = true
		case b[s] == ',' || b[s] == ';':
			return s
		}
	}
	return s
}

// delValue removes the cookies from *from (a delimiter, or start) up to
// next (a delimiter, or end) in b[start:end], keeping one delimiter and
// one space between what remains; it returns how far the bytes after next
// moved (<= 0). HAProxy's http_del_hdr_value.
func delValue(b []byte, start, end int, from *int, next int) int {
	prev := *from
	if prev == start {
		// The first value goes with the delimiter after it.
		if next < end {
			next++
		}
		for next < end && isSPHT(b[next]) {
			next++
		}
	} else {
		for prev-1 > start && isSPHT(b[prev-1]) {
			prev--
		}
		*from = prev
		if next < end {
			b[prev] = b[next]
			prev++
			next++
			if prev+1 < next {
				b[prev] = ' '
				prev++
			}
			for next < end && isSPHT(b[next]) {
				next++
			}
		}
	}
	copy(b[prev:], b[next:end])
	return prev - next
}

// requestHeader handles one Cookie header value; keep is false when the
// whole header goes.
func (c *Cookie) requestHeader(v string, st *State, now int64, choose func(string) Choice) (string, bool) {
	b := []byte(v)
	hdrBeg, hdrEnd := 0, len(b)
	delFrom := -1        // start of cookies scheduled for removal
	preserveHdr := false // some cookie stays: the header cannot go whole
	first := true
	var next int
	for prev := hdrBeg; prev < hdrEnd; prev = next {
		attBeg := prev
		if !first {
			attBeg++
		}
		first = false
		for attBeg < hdrEnd && isSPHT(b[attBeg]) {
			attBeg++
		}
		// attEnd: after the last non-blank before '=', ',' or ';'.
		equal, attEnd := attBeg, attBeg
		for equal < hdrEnd {
			ch := b[equal]
			if ch == '=' || ch == ',' || ch == ';' {
				break
			}
			equal++
			if !isSPHT(ch) {
				attEnd = equal
			}
		}
		var valBeg, valEnd int
		if equal < hdrEnd && b[equal] == '=' {
			valBeg = equal + 1
			for valBeg < hdrEnd && isSPHT(b[valBeg]) {
				valBeg++
			}
			next = cookieValueEnd(b, valBeg, hdrEnd)
			valEnd = next
			for valEnd > valBeg && isSPHT(b[valEnd-1]) {
				valEnd--
			}
		} else {
			valBeg, valEnd, next = equal, equal, equal
		}
		// RFC 2109 attributes ($Path, ...) follow their cookie.
		if attBeg < hdrEnd && b[attBeg] == '$' {
			continue
		}
		if equal == next {
			// No '=': not ours, it stays; cookies scheduled for removal
			// before it go now.
			preserveHdr = true
			if delFrom >= 0 {
				delta := delValue(b, hdrBeg, hdrEnd, &delFrom, prev)
				next += delta
				hdrEnd += delta
				delFrom = -1
			}
			continue
		}
		// Blanks around '=' are removed.
		if attEnd != equal || valBeg > equal+1 {
			stripped := 0
			if attEnd != equal {
				copy(b[attEnd:], b[equal:hdrEnd])
				stripped = attEnd - equal
				equal += stripped
				valBeg += stripped
			}
			if valBeg > equal+1 {
				copy(b[equal+1:], b[valBeg:hdrEnd+stripped])
				after := equal + 1 - valBeg
				valBeg += after
				stripped += after
			}
			valEnd += stripped
			next += stripped
			hdrEnd += stripped
		}
		if attEnd-attBeg != len(c.Name) || string(b[attBeg:attEnd]) != c.Name {
			preserveHdr = true
			if delFrom >= 0 {
				delta := delValue(b, hdrBeg, hdrEnd, &delFrom, prev)
				next += delta
				hdrEnd += delta
				delFrom = -1
			}
			continue
		}
		delim := c.parseValue(b, valBeg, valEnd, st, now)
		c.chooseServer(string(b[valBeg:delim]), delim == valBeg, st, choose)
		switch {
		case c.Mode == Prefix && delim != valEnd:
			// The server part and its '~' go; the application's value stays.
			copy(b[valBeg:], b[delim+1:hdrEnd])
			delta := valBeg - (delim + 1)
			next += delta
			hdrEnd += delta
			delFrom = -1
			preserveHdr = true
		case delFrom < 0 && c.Mode == Insert && c.Indirect:
			delFrom = prev
		}
	}
	if delFrom >= 0 {
		if preserveHdr {
			hdrEnd = delFrom
		} else {
			hdrEnd = hdrBeg
		}
	}
	if hdrEnd == hdrBeg {
		return "", false
	}
	if hdrEnd == len(v) && string(b[:hdrEnd]) == v {
		return v, true
	}
	return string(b[:hdrEnd]), true
}

// parseValue finds the end of the server part of the persistence cookie's
// value b[valBeg:valEnd] and reads its dates; a cookie too old or idle too
// long returns valBeg (as if it named nothing) with the state saying why.
func (c *Cookie) parseValue(b []byte, valBeg, valEnd int, st *State, now int64) int {
	delim := valEnd
	if c.Mode == Prefix {
		for delim = valBeg; delim < valEnd && b[delim] != prefixDelim; delim++ {
		}
	} else if bar := indexByte(b, valBeg, valEnd, dateDelim); bar >= 0 {
		// <server>|<last seen>|<first seen>: 5 base64 characters each,
		// the date in 4-second units.
		delim = bar
		bar++
		if valEnd-bar >= 5 {
			if d := b64ToS30(b[bar : bar+5]); d > 0 {
				st.last = uint32(d) << 2
			}
		}
		if bar2 := indexByte(b, bar, valEnd, dateDelim); bar2 >= 0 && valEnd-bar2 > 5 {
			if d := b64ToS30(b[bar2+1 : bar2+6]); d > 0 {
				st.first = uint32(d) << 2
			}
		}
	}
	// A date more than a day ahead is refused too (a clock set wrong).
	// The differences are 32-bit, as HAProxy computes them.
	if st.first != 0 && c.MaxLife != 0 && (int32(now-int64(st.first)) > int32(c.MaxLife) || int32(int64(st.first)-now) > 86400) {
		st.Req = ReqOld
		st.first, st.last = 0, 0
		return valBeg
	}
	if st.last != 0 && c.MaxIdle != 0 && (int32(now-int64(st.last)) > int32(c.MaxIdle) || int32(int64(st.last)-now) > 86400) {
		st.Req = ReqExpired
		st.first, st.last = 0, 0
		return valBeg
	}
	return delim
}

// chooseServer applies the server part of the cookie.
func (c *Cookie) chooseServer(value string, empty bool, st *State, choose func(string) Choice) {
	if !empty && !st.Ignore && !st.Assigned {
		// An empty value names nothing: a client that learned the
		// empty cookie of a cookie-less backup server is not kept on it.
		switch choose(value) {
		case ChoseUp:
			st.Req, st.Assigned, st.Direct = ReqValid, true, true
			return
		case ChoseDown:
			st.Req, st.Assigned, st.Direct = ReqDown, true, true
			return
		case ServerDown:
			st.Req = ReqDown
			return
		}
	}
	// HAProxy tests bits of its 3-bit field here: any state but none and
	// invalid (an earlier cookie's) stays.
	if st.Req != 0 && st.Req != ReqInvalid {
		return
	}
	if st.Ignore || st.Assigned {
		st.Req = ReqUnused
	} else {
		st.Req = ReqInvalid
	}
}

func indexByte(b []byte, from, to int, c byte) int {
	for i := from; i < to; i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}
