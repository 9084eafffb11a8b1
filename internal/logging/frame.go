package logging

import (
	"strconv"
	"time"
)

// header holds what a syslog header needs besides the message.
type header struct {
	format   LogFormat
	facility Facility
	hostname string // "" omits it in rfc3164, "-" in rfc5424
	tag      string
	pid      int
}

// appendFrame writes msg framed as h.format, truncated to maxLen bytes in
// all (header included), as HAProxy's "len" does. sd is the RFC 5424
// structured data ("-" when empty).
func (h *header) appendFrame(dst []byte, t time.Time, lvl Level, sd, msg []byte, maxLen int) []byte {
	start := len(dst)
	pri := int(h.facility)*8 + int(lvl)
	switch h.format {
	case FormatRFC3164, FormatLocal:
		dst = appendPri(dst, pri)
		dst = appendLegacyTime(dst, t)
		if h.format == FormatRFC3164 && h.hostname != "" {
			dst = append(dst, h.hostname...)
			dst = append(dst, ' ')
		}
		dst = append(dst, h.tag...)
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(h.pid), 10)
		dst = append(dst, "]: "...)
	case FormatRFC5424:
		dst = appendPri(dst, pri)
		dst = append(dst, "1 "...)
		dst = appendISOTime(dst, t)
		dst = append(dst, ' ')
		if h.hostname == "" {
			dst = append(dst, '-')
		} else {
			dst = append(dst, h.hostname...)
		}
		dst = append(dst, ' ')
		dst = append(dst, h.tag...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(h.pid), 10)
		dst = append(dst, " - "...)
		if len(sd) == 0 {
			dst = append(dst, '-')
		} else {
			dst = append(dst, sd...)
		}
		dst = append(dst, ' ')
	case FormatShort:
		dst = appendPri(dst, int(lvl))
	case FormatPriority:
		dst = appendPri(dst, pri)
	case FormatTimed:
		dst = appendPri(dst, int(lvl))
		dst = appendISOTime(dst, t)
		dst = append(dst, ' ')
	case FormatISO:
		dst = appendISOTime(dst, t)
		dst = append(dst, ' ')
	}
	dst = append(dst, msg...)
	if maxLen > 0 && len(dst)-start > maxLen {
		dst = dst[:start+maxLen]
	}
	return dst
}

func appendPri(dst []byte, pri int) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	return append(dst, '>')
}
