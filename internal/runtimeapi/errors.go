package runtimeapi

import (
	"bufio"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/stats"
)

// cmdShowErrors is "show errors [<px>] [request|response]": the last
// invalid request of each frontend and invalid response of each backend,
// in HAProxy's layout. <px> is a proxy name or id (-1: all), as HAProxy
// reads it.
func cmdShowErrors(ss *session, w *bufio.Writer, args []string) {
	snap := ss.target.Snapshot()
	iid := -1
	if len(args) > 2 {
		iid = -2
		for _, px := range snap.Proxies {
			if px.Name == args[2] {
				iid = px.ID
				break
			}
		}
		if iid == -2 {
			iid = atoiPrefix(args[2])
		}
		if iid == 0 {
			w.WriteString("No such proxy.\n")
			return
		}
	}
	reqs, resps := true, true
	if len(args) > 3 {
		switch args[3] {
		case "request":
			resps = false
		case "response":
			reqs = false
		}
	}
	WriteErrors(w, snap, iid, reqs, resps)
}

// atoiPrefix reads a leading decimal number as C's atoi does (0 if none).
func atoiPrefix(s string) int {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(s[:i])
	return n
}

// WriteErrors writes "show errors" for the proxy with id iid (-1: all):
// as in HAProxy, an event matches when its proxy or the proxy on the
// other side (a response's frontend, a request's backend) is iid.
func WriteErrors(w *bufio.Writer, snap *stats.Snapshot, iid int, reqs, resps bool) {
	fmt.Fprintf(w, "Total events captured on [%s] : %d\n", haDate(snap.Now), snap.Info.ErrorEvents)
	match := func(px *stats.Proxy, e *counters.ErrorSnapshot) bool {
		return iid == -1 || px.ID == iid || e.Other != "" && e.OtherID == iid
	}
	for _, px := range snap.Proxies {
		if e := px.InvalidReq; reqs && e != nil && match(px, e) {
			other, otherID := "<NONE>", -1
			if e.Other != "" {
				other, otherID = e.Other, e.OtherID
			}
			fmt.Fprintf(w, " \n[%s] frontend %s (#%d): invalid request\n  backend %s (#%d)", haDate(e.When), px.Name, px.ID, other, otherID)
			writeErrorEvent(w, e, false)
		}
		if e := px.InvalidResp; resps && e != nil && match(px, e) {
			fmt.Fprintf(w, " \n[%s] backend %s (#%d): invalid response\n  frontend %s (#%d)", haDate(e.When), px.Name, px.ID, e.Other, e.OtherID)
			writeErrorEvent(w, e, true)
		}
	}
}

// writeErrorEvent writes the rest of a capture: server, event, client,
// buffer figures, the parser's diagnostic (where HAProxy prints its
// parser's state) and the input, line by line.
func writeErrorEvent(w *bufio.Writer, e *counters.ErrorSnapshot, response bool) {
	srv, srvID := "<NONE>", -1
	if e.Server != "" {
		srv, srvID = e.Server, e.ServerID
	}
	n := len(e.Input)
	fmt.Fprintf(w, ", server %s (#%d), event #%d, src %s:%d\n", srv, srvID, e.Event, e.Src.Addr(), e.Src.Port())
	fmt.Fprintf(w, "  buffer starts at 0 (including 0 out), %d free,\n", max(e.BufSize-n, 0))
	fmt.Fprintf(w, "  len %d, wraps at %d, error at position %d\n", n, e.BufSize, ErrorPosition(e.Input, response))
	fmt.Fprintf(w, "  parser: %s\n  \n", e.Reason)
	for ptr, line := 0, 0; ptr < n; {
		ptr = dumpTextLine(w, e.Input, ptr, &line)
	}
}

// dumpTextLine writes one line of b from ptr as HAProxy's dump_text_line
// does: "  OFFSET  text" (a '+' after the offset marks a continuation),
// printable bytes as they are, \t \n \r \e \\ escaped, others as \xHH,
// at most 70 columns of text (as measured against HAProxy 2.6); it
// returns the offset after the line.
func dumpTextLine(w *bufio.Writer, b []byte, ptr int, line *int) int {
	mark := byte(' ')
	if ptr != *line {
		mark = '+'
	}
	fmt.Fprintf(w, "  %05d%c ", ptr, mark)
	out := 0
	for ptr < len(b) {
		c := b[ptr]
		switch {
		case c >= 0x20 && c < 0x7f && c != '\\':
			if out > 68 {
				w.WriteByte('\n')
				return ptr
			}
			w.WriteByte(c)
			out++
		case c == '\t' || c == '\n' || c == '\r' || c == 0x1b || c == '\\':
			if out > 67 {
				w.WriteByte('\n')
				return ptr
			}
			w.WriteString(map[byte]string{'\t': `\t`, '\n': `\n`, '\r': `\r`, 0x1b: `\e`, '\\': `\\`}[c])
			out += 2
		default:
			if out > 65 {
				w.WriteByte('\n')
				return ptr
			}
			fmt.Fprintf(w, `\x%02X`, c)
			out += 4
		}
		ptr++
		if c == '\n' {
			w.WriteByte('\n')
			*line = ptr
			return ptr
		}
	}
	w.WriteByte('\n')
	return ptr
}

// haDate formats t as HAProxy's captures do: 07/Dec/2026:01:00:50.261.
func haDate(t time.Time) string {
	return t.Format("02/Jan/2006:15:04:05.000")
}

// ErrorPosition finds where an HTTP/1 head stops following the grammar
// (RFC 9112: start line, then "name: value" fields, each line ending in
// CRLF), as HAProxy reports the offset its parser stopped at. A head
// whose syntax holds but whose meaning was refused (say, two different
// Content-Lengths) has no such byte: the position is then its length.
func ErrorPosition(b []byte, response bool) int {
	i := 0
	eol := func() bool { // CRLF or a bare LF
		if i < len(b) && b[i] == '\r' {
			i++
		}
		if i < len(b) && b[i] == '\n' {
			i++
			return true
		}
		return false
	}
	span := func(ok func(byte) bool) int {
		s := i
		for i < len(b) && ok(b[i]) {
			i++
		}
		return i - s
	}
	lit := func(s string) bool {
		for j := 0; j < len(s); j++ {
			if i >= len(b) || b[i] != s[j] {
				return false
			}
			i++
		}
		return true
	}
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	version := func() bool { return lit("HTTP/") && span(digit) == 1 && lit(".") && span(digit) == 1 }
	if response {
		if !version() || !lit(" ") || span(digit) != 3 || !lit(" ") {
			return i
		}
		span(func(c byte) bool { return c == '\t' || c >= 0x20 && c != 0x7f })
	} else {
		if span(isTchar) == 0 || !lit(" ") || span(func(c byte) bool { return c > 0x20 && c != 0x7f }) == 0 || !lit(" ") || !version() {
			return i
		}
	}
	if !eol() {
		return i
	}
	for i < len(b) {
		if eol() {
			return len(b) // the empty line: the syntax held
		}
		if span(isTchar) == 0 || !lit(":") {
			return i
		}
		span(func(c byte) bool { return c == '\t' || c >= 0x20 && c != 0x7f })
		if !eol() {
			return i
		}
	}
	return i
}

// isTchar reports whether c may appear in a token (method, field name).
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
