package http1

import (
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// ReadResponse reads the next response head into resp (Reset first).
// reqMethod is the method of the request it answers: HEAD and CONNECT change
// the framing. Interim responses (1xx) are returned like any other, with
// NoBody set; the caller forwards them and calls ReadResponse again.
// Every defect is a *ProtocolError with Status 502.
//
// Framing decisions (RFC 9112 §6.3):
//   - HEAD responses, 1xx, 204, 304 and 2xx to CONNECT have no body.
//   - Transfer-Encoding wins over Content-Length when both are present, as
//     HAProxy does: Content-Length is removed from resp.Header and Close is
//     set, because the server's framing cannot be trusted for reuse.
//   - Transfer-Encoding must be exactly chunked; other codings are 502.
//   - Neither: the body runs until the server closes (ContentLength -1,
//     Chunked false, Close true).
func (r *Reader) ReadResponse(resp *httpmsg.Response, reqMethod string) error {
	resp.Reset()
	r.resp = true
	r.cs = chunkState{}
	head, err := r.readHead()
	if err != nil {
		return err
	}
	return parseResponse(head, resp, reqMethod, &r.lim)
}

// ParseResponse parses a complete response head held in b into resp.
func ParseResponse(b []byte, resp *httpmsg.Response, reqMethod string, lim Limits) error {
	resp.Reset()
	if end, _, _ := findHeadEnd(b, 0); end != len(b) {
		return perr(true, 502, "incomplete head or bytes after it")
	}
	lim = lim.normalized()
	return parseResponse(b, resp, reqMethod, &lim)
}

func parseResponse(b []byte, resp *httpmsg.Response, reqMethod string, lim *Limits) error {
	line, i := nextLine(b, 0)
	if err := parseStatusLine(line, resp); err != nil {
		return err
	}
	if _, err := parseFields(b, i, &resp.Header, lim.MaxHeaders, true, lim.AcceptInvalid); err != nil {
		return err
	}
	hi, err := scanHead(resp.Header, true)
	if err != nil {
		return err
	}
	return responseSemantics(resp, &hi, reqMethod)
}

var errStatusLine = &ProtocolError{Status: 502, Msg: "malformed status line"}

// parseStatusLine: HTTP-version SP 3DIGIT SP [reason]. A missing SP after the
// code is tolerated, as RFC 9112 §4 recommends.
func parseStatusLine(line []byte, resp *httpmsg.Response) error {
	if len(line) < 12 || line[8] != ' ' {
		return errStatusLine
	}
	major, minor, err := parseVersion(line[:8], true)
	if err != nil {
		return err
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return errStatusLine
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return errStatusLine
	}
	reason := line[12:]
	if len(reason) > 0 {
		if reason[0] != ' ' || !validValue(reason[1:]) {
			return errStatusLine
		}
		reason = reason[1:]
	}
	resp.Status = code
	resp.Reason = str(reason)
	resp.Major, resp.Minor = major, minor
	resp.Proto = protoString(minor)
	return nil
}

func responseSemantics(resp *httpmsg.Response, hi *headInfo, reqMethod string) error {
	s := resp.Status
	if resp.Minor == 0 {
		resp.Close = hi.connClose || !hi.connKeepAlive
	} else {
		resp.Close = hi.connClose
	}
	if !hi.te {
		normalizeContentLength(&resp.Header, hi)
	}
	if reqMethod == "HEAD" || s < 200 || s == 204 || s == 304 ||
		reqMethod == "CONNECT" && s < 300 {
		resp.NoBody = true
		return nil
	}
	switch {
	case hi.te:
		if hi.teErr != nil {
			return hi.teErr
		}
		if hi.clCount > 0 {
			resp.Header.Del("Content-Length")
			resp.Close = true
		}
		resp.Chunked = true
		resp.ContentLength = -1
	case hi.clCount > 0:
		resp.ContentLength = hi.cl
	default:
		resp.ContentLength = -1
		resp.Close = true
	}
	return nil
}
