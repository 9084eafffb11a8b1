package http1

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// BodyKind says how a message body is delimited.
type BodyKind uint8

const (
	BodyNone    BodyKind = iota // no body
	BodyLength                  // Content-Length bytes
	BodyChunked                 // chunked transfer coding
	BodyClose                   // until the connection closes (responses only)
)

// Framing is the body delimitation of one message.
type Framing struct {
	Kind   BodyKind
	Length int64 // for BodyLength
}

// RequestFraming returns the body framing ReadRequest decided.
func RequestFraming(req *httpmsg.Request) Framing {
	switch {
	case req.Chunked:
		return Framing{Kind: BodyChunked}
	case req.ContentLength > 0:
		return Framing{Kind: BodyLength, Length: req.ContentLength}
	}
	return Framing{}
}

// ResponseFraming returns the body framing ReadResponse decided.
func ResponseFraming(resp *httpmsg.Response) Framing {
	switch {
	case resp.NoBody:
		return Framing{}
	case resp.Chunked:
		return Framing{Kind: BodyChunked}
	case resp.ContentLength > 0:
		return Framing{Kind: BodyLength, Length: resp.ContentLength}
	case resp.ContentLength < 0:
		return Framing{Kind: BodyClose}
	}
	return Framing{}
}

// headInfo gathers what the semantic checks need from one pass over the
// fields of a head.
type headInfo struct {
	clCount  int
	cl       int64
	clList   bool // a Content-Length value was a list ("5, 5")
	te       bool // Transfer-Encoding present
	teOnly   bool // every coding is chunked, exactly once, last
	teErr    *ProtocolError
	hosts    int
	host     string
	upgrade  string
	upgrades int

	connClose, connKeepAlive, connUpgrade bool
	expect100                             bool
	wsKeys                                int // Sec-WebSocket-Key fields
}

func scanHead(h httpmsg.Headers, resp bool) (hi headInfo, err *ProtocolError) {
	var codings teCodings
	for i := range h {
		name, v := h[i].Name, h[i].Value
		switch len(name) {
		case 4:
			if eqFoldStr(name, "host") {
				hi.hosts++
				hi.host = v
			}
		case 6:
			if eqFoldStr(name, "expect") && eqFoldStr(v, "100-continue") {
				hi.expect100 = true
			}
		case 7:
			if eqFoldStr(name, "upgrade") {
				hi.upgrades++
				hi.upgrade = v
			}
		case 10:
			if eqFoldStr(name, "connection") {
				connTokens(v, &hi)
			}
		case 14:
			if eqFoldStr(name, "content-length") {
				n, ok := parseContentLength(v)
				if !ok {
					return hi, perr(resp, 400, "invalid Content-Length")
				}
				if hi.clCount > 0 && n != hi.cl {
					return hi, perr(resp, 400, "conflicting Content-Length")
				}
				hi.cl = n
				hi.clCount++
				hi.clList = hi.clList || strings.IndexByte(v, ',') >= 0
			}
		case 17:
			if eqFoldStr(name, "transfer-encoding") {
				hi.te = true
				if err := codings.add(v, resp); err != nil {
					return hi, err
				}
			} else if eqFoldStr(name, "sec-websocket-key") {
				hi.wsKeys++
			}
		}
	}
	if hi.te {
		hi.teErr = codings.check(resp)
		hi.teOnly = hi.teErr == nil
	}
	return hi, nil
}

// parseContentLength accepts 1*DIGIT, or a list of identical such values
// ("5, 5"), which RFC 9110 §8.6 allows a recipient to collapse. Signs,
// spaces inside numbers, empty elements and overflow are rejected.
func parseContentLength(v string) (int64, bool) {
	n := int64(-1)
	for {
		el, rest, more := strings.Cut(v, ",")
		el = trimOWSString(el)
		if el == "" || len(el) > 18 { // 18 digits cannot overflow int64
			return 0, false
		}
		var x int64
		for i := 0; i < len(el); i++ {
			c := el[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			x = x*10 + int64(c-'0')
		}
		if n >= 0 && x != n {
			return 0, false
		}
		n = x
		if !more {
			return n, true
		}
		v = rest
	}
}

// teCodings accumulates the transfer codings of every Transfer-Encoding field.
type teCodings struct {
	n           int  // codings seen
	chunked     int  // occurrences of chunked
	chunkedLast bool // the last coding is chunked
	other       bool // a coding other than chunked
}

func (t *teCodings) add(v string, resp bool) *ProtocolError {
	empty := true
	for v != "" {
		el, rest, _ := strings.Cut(v, ",")
		v = rest
		el = trimOWSString(el)
		if el == "" {
			continue // RFC 9110 §5.6.1: empty list elements are ignored
		}
		empty = false
		t.n++
		name, _, _ := strings.Cut(el, ";")
		name = trimOWSString(name)
		if name == "" || !allClassStr(name, cToken) {
			return perr(resp, 400, "invalid Transfer-Encoding")
		}
		if eqFoldStr(el, "chunked") {
			t.chunked++
			t.chunkedLast = true
		} else {
			t.other = true
			t.chunkedLast = false
		}
	}
	if empty {
		return perr(resp, 400, "empty Transfer-Encoding")
	}
	return nil
}

// check enforces RFC 9112 §6.1/§6.3: chunked exactly once and last. Codings
// other than chunked are not implemented (501): decoding them is not the
// proxy's job and forwarding them unframed would let the two sides disagree.
func (t *teCodings) check(resp bool) *ProtocolError {
	switch {
	case t.chunked > 1:
		return perr(resp, 400, "chunked applied more than once")
	case t.chunked == 1 && !t.chunkedLast:
		return perr(resp, 400, "chunked is not the final transfer coding")
	case t.other:
		return perr(resp, 501, "unsupported transfer coding")
	}
	return nil
}

func allClassStr(s string, c uint8) bool { return allClass(bytesOf(s), c) }

// connTokens records the Connection options that matter to framing.
func connTokens(v string, hi *headInfo) {
	for v != "" {
		el, rest, _ := strings.Cut(v, ",")
		v = rest
		el = trimOWSString(el)
		switch {
		case eqFoldStr(el, "close"):
			hi.connClose = true
		case eqFoldStr(el, "keep-alive"):
			hi.connKeepAlive = true
		case eqFoldStr(el, "upgrade"):
			hi.connUpgrade = true
		}
	}
}

// HasToken reports whether the comma-separated list v holds token
// (case-insensitively), as in Upgrade or Connection.
func HasToken(v, token string) bool {
	for v != "" {
		el, rest, _ := strings.Cut(v, ",")
		v = rest
		if strings.EqualFold(trimOWSString(el), token) {
			return true
		}
	}
	return false
}

// normalizeContentLength leaves one Content-Length field, where the first
// was, with the single value that a list or repeated fields agreed on, as
// HAProxy forwards it: a next hop that reads "5, 5" as invalid, or takes
// another of the fields, must not see a different message.
func normalizeContentLength(h *httpmsg.Headers, hi *headInfo) {
	if hi.clCount < 2 && !hi.clList {
		return
	}
	out := (*h)[:0]
	first := true
	for _, f := range *h {
		if len(f.Name) == 14 && eqFoldStr(f.Name, "content-length") {
			if !first {
				continue
			}
			first = false
			f.Value = strconv.FormatInt(hi.cl, 10)
		}
		out = append(out, f)
	}
	*h = out
}
