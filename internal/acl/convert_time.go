package acl

import (
	"strconv"
	"time"
)

// appendStrftime formats t as C's strftime(3) does in the C locale, for
// the ltime and utime converters. A conversion it does not know is
// copied as written, as glibc does.
func appendStrftime(dst []byte, format string, t time.Time) []byte {
	pad := func(dst []byte, v, width int, fill byte) []byte {
		s := strconv.Itoa(v)
		for i := len(s); i < width; i++ {
			dst = append(dst, fill)
		}
		return append(dst, s...)
	}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			dst = append(dst, format[i])
			continue
		}
		i++
		switch format[i] {
		case 'a':
			dst = append(dst, t.Weekday().String()[:3]...)
		case 'A':
			dst = append(dst, t.Weekday().String()...)
		case 'b', 'h':
			dst = append(dst, t.Month().String()[:3]...)
		case 'B':
			dst = append(dst, t.Month().String()...)
		case 'c':
			dst = appendStrftime(dst, "%a %b %e %H:%M:%S %Y", t)
		case 'C':
			dst = pad(dst, t.Year()/100, 2, '0')
		case 'd':
			dst = pad(dst, t.Day(), 2, '0')
		case 'D':
			dst = appendStrftime(dst, "%m/%d/%y", t)
		case 'e':
			dst = pad(dst, t.Day(), 2, ' ')
		case 'F':
			dst = appendStrftime(dst, "%Y-%m-%d", t)
		case 'G':
			y, _ := t.ISOWeek()
			dst = strconv.AppendInt(dst, int64(y), 10)
		case 'g':
			y, _ := t.ISOWeek()
			dst = pad(dst, y%100, 2, '0')
		case 'H':
			dst = pad(dst, t.Hour(), 2, '0')
		case 'I':
			dst = pad(dst, (t.Hour()+11)%12+1, 2, '0')
		case 'j':
			dst = pad(dst, t.YearDay(), 3, '0')
		case 'k':
			dst = pad(dst, t.Hour(), 2, ' ')
		case 'l':
			dst = pad(dst, (t.Hour()+11)%12+1, 2, ' ')
		case 'm':
			dst = pad(dst, int(t.Month()), 2, '0')
		case 'M':
			dst = pad(dst, t.Minute(), 2, '0')
		case 'n':
			dst = append(dst, '\n')
		case 'p':
			if t.Hour() < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case 'P':
			if t.Hour() < 12 {
				dst = append(dst, "am"...)
			} else {
				dst = append(dst, "pm"...)
			}
		case 'r':
			dst = appendStrftime(dst, "%I:%M:%S %p", t)
		case 'R':
			dst = appendStrftime(dst, "%H:%M", t)
		case 's':
			dst = strconv.AppendInt(dst, t.Unix(), 10)
		case 'S':
			dst = pad(dst, t.Second(), 2, '0')
		case 't':
			dst = append(dst, '\t')
		case 'T':
			dst = appendStrftime(dst, "%H:%M:%S", t)
		case 'u':
			dst = strconv.AppendInt(dst, int64((int(t.Weekday())+6)%7+1), 10)
		case 'U':
			dst = pad(dst, (t.YearDay()+6-int(t.Weekday()))/7, 2, '0')
		case 'V':
			_, w := t.ISOWeek()
			dst = pad(dst, w, 2, '0')
		case 'w':
			dst = strconv.AppendInt(dst, int64(t.Weekday()), 10)
		case 'W':
			dst = pad(dst, (t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2, '0')
		case 'x':
			dst = appendStrftime(dst, "%m/%d/%y", t)
		case 'X':
			dst = appendStrftime(dst, "%H:%M:%S", t)
		case 'y':
			dst = pad(dst, t.Year()%100, 2, '0')
		case 'Y':
			dst = strconv.AppendInt(dst, int64(t.Year()), 10)
		case 'z':
			dst = t.AppendFormat(dst, "-0700")
		case 'Z':
			dst = t.AppendFormat(dst, "MST")
		case '%':
			dst = append(dst, '%')
		default:
			dst = append(dst, '%', format[i])
		}
	}
	return dst
}
