package logging

import (
	"bytes"
	"time"
)

// Forwarding received syslog messages ("log-forward" sections): a message
// is parsed as HAProxy 2.6's parse_log_message parses it, and framed again
// for each target as its build_log_header does, from the message's own
// fields (time, host, tag, pid, msgid, structured data) where they exist.

// Meta are the header fields of a received message; nil: absent.
type Meta struct {
	Prio, Time, Host, Tag, PID, MsgID, SD []byte
}

// Forwarded is one parsed message.
type Forwarded struct {
	Level, Facility int // -1: absent
	Meta            Meta
	Msg             []byte
}

const (
	legacyTimeLen = 15 // "Jan  1 00:00:00"
	isoTimeMinLen = 20 // "1970-01-01T00:00:00Z"
)

// ParseSyslog is HAProxy's parse_log_message. The result refers to buf.
func ParseSyslog(buf []byte) Forwarded {
	f := Forwarded{Level: -1, Facility: -1, Msg: buf}
	if len(buf) < 2 || buf[0] != '<' {
		return f
	}
	p, pri := 1, 0
	for ; p < len(buf) && buf[p] != '>'; p++ {
		if buf[p] < '0' || buf[p] > '9' || pri > 1<<20 {
			return f
		}
		pri = pri*10 + int(buf[p]-'0')
	}
	if p >= len(buf) {
		return f
	}
	p++
	f.Facility, f.Level = pri>>3, pri&7
	f.Meta.Prio = buf[:p]
	rest := buf[p:]
	f.Msg = rest
	bad := func() Forwarded {
		// The priority is kept: the message can still be framed with it.
		f.Meta = Meta{Prio: f.Meta.Prio}
		f.Msg = rest
		return f
	}
	field := func(s []byte) ([]byte, []byte, bool) { // a field ended by ' ', '-' meaning nil
		if len(s) == 0 || s[0] == ' ' {
			return nil, nil, false
		}
		i := bytes.IndexByte(s, ' ')
		if i < 0 {
			return nil, nil, false
		}
		v := s[:i]
		if len(v) == 1 && v[0] == '-' {
			v = nil
		}
		return v, s[i+1:], true
	}
	if len(rest) > 2 && rest[0] == '1' && rest[1] == ' ' { // RFC 5424
		s := rest[2:]
		switch {
		case len(s) > 2 && s[0] == '-' && s[1] == ' ':
			f.Meta.Time, s = s[:1], s[2:]
		case len(s) > isoTimeMinLen:
			i := 19
			if s[i] == '.' {
				i++
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				if i >= len(s) {
					return bad()
				}
			}
			switch {
			case s[i] == 'Z':
				i++
			case s[i] == '+' || s[i] == '-':
				i += 6
			default:
				return bad()
			}
			if i >= len(s) || s[i] != ' ' {
				return bad()
			}
			f.Meta.Time, s = s[:i], s[i+1:]
		default:
			return bad()
		}
		var ok bool
		for _, dst := range []*[]byte{&f.Meta.Host, &f.Meta.Tag, &f.Meta.PID, &f.Meta.MsgID} {
			if *dst, s, ok = field(s); !ok {
				return bad()
			}
		}
		// Structured data: '-' or [...] elements, ']' escaped by '\'.
		switch {
		case len(s) > 0 && s[0] == '[':
			i, in := 0, false
			for ; ; i++ {
				if i >= len(s) {
					return bad()
				}
				if in {
					if s[i] == ']' && s[i-1] != '\\' {
						in = false
					}
				} else if s[i] == '[' {
					in = true
				} else if s[i] == ' ' {
					break
				} else {
					return bad()
				}
			}
			f.Meta.SD, s = s[:i], s[i+1:]
		case len(s) > 1 && s[0] == '-' && s[1] == ' ':
			s = s[2:]
		default:
			return bad()
		}
		f.Msg = s
		return f
	}
	if len(rest) <= legacyTimeLen { // RFC 3164 needs more
		return f
	}
	if legacyMonth(rest) < 0 {
		return bad()
	}
	f.Meta.Time = rest[:legacyTimeLen]
	s := rest[legacyTimeLen:]
	if len(s) < 2 || s[0] != ' ' || s[1] == ' ' {
		return bad()
	}
	s = s[1:]
	i := bytes.IndexByte(s, ' ')
	if i < 0 {
		return bad()
	}
	f.Meta.Host, s = s[:i], s[i+1:]
	f.Msg = s
	// An optional "TAG[PID]: " or "TAG: ".
	j := bytes.IndexAny(s, " :")
	if j < 0 || s[j] != ':' || j+1 >= len(s) || s[j+1] != ' ' {
		return f
	}
	tag := s[:j]
	if k := bytes.IndexByte(tag, '['); k >= 0 {
		if tag[len(tag)-1] != ']' {
			return f
		}
		f.Meta.PID = tag[k+1 : len(tag)-1]
		tag = tag[:k]
	}
	f.Meta.Tag = tag
	f.Msg = s[j+2:]
	return f
}

// formatUnspec: a target without "format" keeps the received format.
const formatUnspec LogFormat = 255

// appendForwarded frames f for a target (HAProxy's build_log_header):
// format, level and facility already chosen by the target.
func appendForwarded(dst []byte, format LogFormat, level, facility int, m *Meta, msg []byte, now time.Time, maxLen int) []byte {
	start := len(dst)
	if format == formatUnspec {
		format = FormatRaw
		switch {
		case m.Host != nil:
			format = FormatRFC3164
			if (len(m.Time) == 1 && m.Time[0] == '-') || len(m.Time) >= isoTimeMinLen {
				format = FormatRFC5424
			}
		case m.Tag != nil:
			format = FormatLocal
		case m.Prio != nil:
			format = FormatPriority
		}
	}
	switch format {
	case FormatLocal, FormatRFC3164, FormatRFC5424, FormatPriority:
		dst = appendPri(dst, facility<<3+level)
	case FormatTimed, FormatShort:
		dst = appendPri(dst, level)
	}
	switch format {
	case FormatLocal, FormatRFC3164:
		switch {
		case len(m.Time) == legacyTimeLen:
			dst = append(append(dst, m.Time...), ' ')
		case len(m.Time) >= isoTimeMinLen && isoMonth(m.Time) >= 0:
			t := m.Time
			dst = append(dst, monthNames[isoMonth(t)*3:isoMonth(t)*3+3]...)
			dst = append(dst, ' ')
			if t[8] != '0' {
				dst = append(dst, t[8])
			} else {
				dst = append(dst, ' ')
			}
			dst = append(dst, t[9], ' ')
			dst = append(append(dst, t[11:19]...), ' ')
		default:
			dst = appendLegacyTime(dst, now)
		}
	case FormatRFC5424, FormatTimed, FormatISO:
		if format == FormatRFC5424 {
			dst = append(dst, "1 "...)
			if len(m.Time) == 1 && m.Time[0] == '-' {
				dst = append(dst, "- "...)
				break
			}
		}
		switch {
		case len(m.Time) >= isoTimeMinLen:
			dst = append(append(dst, m.Time...), ' ')
		case len(m.Time) == legacyTimeLen && legacyMonth(m.Time) >= 0:
			mo := legacyMonth(m.Time)
			y := now.Year()
			if int(now.Month())-1 < mo {
				y-- // the year changed since the message
			}
			dst = append4(dst, y)
			dst = append(dst, '-')
			dst = append2(dst, mo+1)
			dst = append(dst, '-')
			if m.Time[4] != ' ' {
				dst = append(dst, m.Time[4])
			} else {
				dst = append(dst, '0')
			}
			dst = append(dst, m.Time[5], 'T')
			dst = append(dst, m.Time[7:15]...)
			dst = append(dst, "-00:00 "...)
		default:
			dst = append(appendISOTime(dst, now), ' ')
		}
	}
	switch format {
	case FormatRFC3164, FormatLocal:
		if format == FormatRFC3164 {
			if m.Host != nil {
				dst = append(append(dst, m.Host...), ' ')
			} else {
				dst = append(dst, "localhost "...)
			}
		}
		if m.Tag != nil {
			dst = append(dst, m.Tag...)
			if m.PID != nil {
				dst = append(append(append(dst, '['), m.PID...), ']')
			}
			dst = append(dst, ": "...)
		}
	case FormatRFC5424:
		for _, v := range [][]byte{m.Host, m.Tag, m.PID, m.MsgID, m.SD} {
			if v == nil {
				dst = append(dst, "- "...)
			} else {
				dst = append(append(dst, v...), ' ')
			}
		}
	}
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == 0) {
		msg = msg[:len(msg)-1]
	}
	dst = append(dst, msg...)
	if maxLen > 0 && len(dst)-start > maxLen {
		dst = dst[:start+maxLen]
	}
	return dst
}

func isoMonth(t []byte) int {
	m := int(t[5]-'0')*10 + int(t[6]-'0')
	if m > 0 {
		m--
	}
	if m > 11 || t[5] < '0' || t[5] > '9' || t[6] < '0' || t[6] > '9' {
		return -1
	}
	return m
}

func legacyMonth(t []byte) int {
	i := bytes.Index([]byte(monthNames), t[:3])
	if i < 0 || i%3 != 0 {
		return -1
	}
	return i / 3
}

func appendLegacyTime(dst []byte, t time.Time) []byte {
	_, mo, d := t.Date()
	hh, mm, ss := t.Clock()
	dst = append(dst, monthNames[(mo-1)*3:(mo-1)*3+3]...)
	dst = append(dst, ' ')
	if d < 10 {
		dst = append(dst, ' ', byte('0'+d))
	} else {
		dst = append2(dst, d)
	}
	dst = append(dst, ' ')
	dst = append2(dst, hh)
	dst = append(dst, ':')
	dst = append2(dst, mm)
	dst = append(dst, ':')
	dst = append2(dst, ss)
	return append(dst, ' ')
}

// Forward queues a received message on every target whose level takes
// it (HAProxy's process_send_log): a message without a priority has the
// target's minimum level and facility.
func (l *Logger) Forward(f *Forwarded) {
	now := l.now()
	for _, t := range l.targets {
		if f.Level > int(t.maxLevel) {
			continue
		}
		var e *entry
		select {
		case e = <-t.free:
		default:
			t.dropped.Add(1)
			continue
		}
		e.when, e.level = now, Level(max(f.Level, int(t.minLevel)))
		e.fwd, e.facility = true, int(t.hdr.facility)
		if f.Facility >= 0 {
			e.facility = f.Facility
		}
		// One buffer holds the fields and the message, so the entry is
		// reused without allocating once it has grown.
		e.msg = e.msg[:0]
		put := func(v []byte) []byte {
			if v == nil {
				return nil
			}
			i := len(e.msg)
			e.msg = append(e.msg, v...)
			return e.msg[i:len(e.msg):len(e.msg)]
		}
		e.meta = Meta{}
		e.meta.Prio, e.meta.Time, e.meta.Host = put(f.Meta.Prio), put(f.Meta.Time), put(f.Meta.Host)
		e.meta.Tag, e.meta.PID, e.meta.MsgID, e.meta.SD = put(f.Meta.Tag), put(f.Meta.PID), put(f.Meta.MsgID), put(f.Meta.SD)
		e.body = put(f.Msg)
		if e.body == nil {
			e.body = e.msg[len(e.msg):]
		}
		t.queue <- e
	}
}
