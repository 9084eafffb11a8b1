package logging

import (
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// bytesView returns b as a string without copying; the string must not
// outlive the next change to b.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

const badReq = "<BADREQ>"

// appendVar writes one variable node.
func appendVar(dst []byte, n *node, c *Context) []byte {
	o := n.opts
	switch n.id {
	case vExpr:
		if c.Txn == nil {
			return appendText(dst, "", o, encNone)
		}
		return appendSample(dst, n, c)

	case vClientIP:
		return appendIP(dst, c.Client.Addr(), o)
	case vClientPort:
		return appendPort(dst, c.Client, o)
	case vFrontIP:
		return appendIP(dst, c.FrontendAddr.Addr(), o)
	case vFrontPort:
		return appendPort(dst, c.FrontendAddr, o)
	case vBackIP:
		return appendIP(dst, c.BackendSrc.Addr(), o)
	case vBackPort:
		return appendPort(dst, c.BackendSrc, o)
	case vServerIP:
		return appendIP(dst, c.ServerAddr.Addr(), o)
	case vServerPort:
		return appendPort(dst, c.ServerAddr, o)

	case vDate:
		return appendDateField(dst, c.AcceptTime, dateMs, o)
	case vDateGMT:
		return appendDateField(dst, c.AcceptTime.UTC(), dateZone, o)
	case vDateLocal:
		return appendDateField(dst, c.AcceptTime, dateZone, o)
	case vReqDate:
		return appendDateField(dst, c.requestTime(), dateMs, o)
	case vReqDateGMT:
		return appendDateField(dst, c.requestTime().UTC(), dateZone, o)
	case vReqDateLocal:
		return appendDateField(dst, c.requestTime(), dateZone, o)
	case vTs:
		if o&optHex != 0 {
			return appendHex(dst, uint64(c.AcceptTime.Unix()), 4)
		}
		return strconv.AppendInt(dst, c.AcceptTime.Unix(), 10)
	case vMs:
		ms := c.AcceptTime.Nanosecond() / 1e6
		if o&optHex != 0 {
			return appendHex(dst, uint64(ms), 2)
		}
		if o&optJSON != 0 {
			return strconv.AppendInt(dst, int64(ms), 10)
		}
		return append3(dst, ms)

	case vFrontend:
		return appendText(dst, c.FrontendName, o, encNone)
	case vFrontendXprt:
		return appendFrontendXprt(dst, c, o)
	case vBackend:
		if c.BackendName == "" {
			return appendText(dst, c.FrontendName, o, encNone)
		}
		return appendText(dst, c.BackendName, o, encNone)
	case vServer:
		if c.ServerName == "" {
			return appendText(dst, "<NOSRV>", o, encNone)
		}
		return appendText(dst, c.ServerName, o, encNone)

	case vTh:
		return appendInt(dst, c.Th, o, 0)
	case vTi:
		return appendInt(dst, c.Ti, o, 0)
	case vTR:
		return appendInt(dst, c.TR, o, 0)
	case vTq:
		return appendInt(dst, c.tq(), o, 0)
	case vTw:
		return appendInt(dst, c.Tw, o, 0)
	case vTc:
		return appendInt(dst, c.Tc, o, 0)
	case vTr:
		return appendInt(dst, c.Tr, o, 0)
	case vTd:
		return appendInt(dst, c.td(), o, 0)
	case vTa:
		dst = c.asapMark(dst, o)
		return appendInt(dst, c.ta(), o, 0)
	case vTt:
		dst = c.asapMark(dst, o)
		return appendInt(dst, c.Tt, o, 0)
	case vTu:
		dst = c.asapMark(dst, o)
		return appendInt(dst, c.tu(), o, 0)
	case vStatus:
		return appendInt(dst, int64(c.Status), o, 0)
	case vBytesOut:
		dst = c.asapMark(dst, o)
		return appendInt(dst, c.BytesOut, o, 0)
	case vBytesIn:
		return appendInt(dst, c.BytesIn, o, 0)

	case vCookieReq:
		return appendText(dst, c.ReqCookie, o, encURL)
	case vCookieRes:
		return appendText(dst, c.ResCookie, o, encURL)
	case vTermState:
		return appendFixed(dst, o, c.Term.Cause(), c.Term.Phase())
	case vTermStateCk:
		ck := c.CookieFlags
		for i := range ck {
			if ck[i] == 0 {
				ck[i] = '-'
			}
		}
		return appendFixed(dst, o, c.Term.Cause(), c.Term.Phase(), ck[0], ck[1])

	case vActConn:
		return appendInt(dst, c.ActConn, o, 0)
	case vFeConn:
		return appendInt(dst, c.FeConn, o, 0)
	case vBeConn:
		return appendInt(dst, c.BeConn, o, 0)
	case vSrvConn:
		return appendInt(dst, c.SrvConn, o, 0)
	case vRetries:
		if c.Redispatched && o&optJSON == 0 {
			dst = append(dst, '+')
		}
		return appendInt(dst, c.Retries, o, 0)
	case vSrvQueue:
		return appendInt(dst, c.SrvQueue, o, 0)
	case vBeQueue:
		return appendInt(dst, c.BeQueue, o, 0)

	case vHdrReq:
		return appendCapBraces(dst, c.ReqCaptures, o)
	case vHdrRes:
		return appendCapBraces(dst, c.ResCaptures, o)
	case vHdrReqList:
		return appendCapList(dst, c.ReqCaptures, o)
	case vHdrResList:
		return appendCapList(dst, c.ResCaptures, o)

	case vRequest:
		return appendRequestLine(dst, c, o)
	case vMethod, vURI, vPath, vPathOnly, vQuery, vVersion:
		part := requestPart(c, n.id)
		if part == "" && n.id == vQuery && o&(optJSON|optQuote) == 0 {
			return dst // HAProxy writes no '-' for an absent query
		}
		return appendText(dst, part, o, encURL)

	case vUniqueID:
		if c.UniqueID == "" && c.Txn != nil {
			return appendText(dst, c.Txn.UniqueID, o, encNone)
		}
		return appendText(dst, c.UniqueID, o, encNone)
	case vPID:
		return appendInt(dst, int64(c.PID), o, 4)
	case vHostname:
		return appendText(dst, c.Hostname, o, encNone)
	case vReqCounter:
		return appendUint(dst, c.ReqCounter, o)
	case vLogCounter:
		return appendUint(dst, c.LogCounter, o)
	case vSSLVersion:
		if c.SSLVersion == "" && c.Txn != nil {
			return appendText(dst, c.Txn.TLSVersion, o, encNone)
		}
		return appendText(dst, c.SSLVersion, o, encNone)
	case vSSLCipher:
		return appendText(dst, c.SSLCipher, o, encNone)
	}
	return dst
}

func appendUint(dst []byte, v uint64, o opt) []byte {
	if o&optHex != 0 {
		return appendHex(dst, v, 4)
	}
	return strconv.AppendUint(dst, v, 10)
}

// appendSample evaluates a %[expr] node. Without options the sample is
// appended in place; otherwise it goes through the Context's scratch
// buffer and is then quoted or escaped.
func appendSample(dst []byte, n *node, c *Context) []byte {
	o := n.opts
	if o&optHTTP != 0 && o&optEsc == 0 {
		// An HTTP rule's sample (HAProxy's LOG_OPT_HTTP): never quoted
		// (+Q is ignored there, as HAProxy 2.6 ignores it), and the
		// bytes a header value cannot carry are '%XX'-encoded.
		start := len(dst)
		out, ok := n.expr.AppendString(dst, c.Txn)
		if !ok {
			return out[:start]
		}
		return httpEncodeInPlace(out, start)
	}
	if o&(optQuote|optJSON|optEsc) == 0 {
		start := len(dst)
		out, ok := n.expr.AppendString(dst, c.Txn)
		if !ok || len(out) == start {
			return append(out[:start], '-')
		}
		return escapeCtlInPlace(out, start)
	}
	var ok bool
	c.scratch, ok = n.expr.AppendString(c.scratch[:0], c.Txn)
	if !ok {
		c.scratch = c.scratch[:0]
	}
	return appendText(dst, bytesView(c.scratch), o, encNone)
}

func appendFrontendXprt(dst []byte, c *Context, o opt) []byte {
	q := o&(optQuote|optJSON) != 0
	if q {
		dst = append(dst, '"')
	}
	if o&optJSON != 0 {
		dst = appendJSONBody(dst, c.FrontendName)
	} else {
		dst = append(dst, c.FrontendName...)
	}
	if c.FrontendSSL {
		dst = append(dst, '~')
	}
	if q {
		dst = append(dst, '"')
	}
	return dst
}

// appendFixed writes the termination state characters; only +json quotes
// them (HAProxy writes them bare, even under +Q).
func appendFixed(dst []byte, o opt, chars ...byte) []byte {
	if o&optJSON != 0 {
		dst = append(dst, '"')
		dst = append(dst, chars...)
		return append(dst, '"')
	}
	return append(dst, chars...)
}

type dateStyle uint8

const (
	dateMs   dateStyle = iota // 06/Feb/2009:12:14:14.655
	dateZone                  // 06/Feb/2009:12:14:14 +0100
)

func appendDateField(dst []byte, t time.Time, style dateStyle, o opt) []byte {
	json := o&optJSON != 0
	if json {
		dst = append(dst, '"')
	}
	dst = appendLogDate(dst, t, style == dateMs)
	if style == dateZone {
		dst = append(dst, ' ')
		dst = appendZoneOffset(dst, t, false)
	}
	if json {
		dst = append(dst, '"')
	}
	return dst
}

// appendCapBraces writes captured headers as "{v1|v2}" (%hr, %hs); nothing
// at all when no header is captured.
func appendCapBraces(dst []byte, caps []string, o opt) []byte {
	if len(caps) == 0 {
		return dst
	}
	if o&optJSON != 0 {
		dst = append(dst, '[')
		for i, v := range caps {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, v)
		}
		return append(dst, ']')
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	dst = append(dst, '{')
	for i, v := range caps {
		if i > 0 {
			dst = append(dst, '|')
		}
		dst = appendRaw(dst, v, o, encHdr)
	}
	dst = append(dst, '}')
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

// appendCapList writes captured headers CLF style (%hrl, %hsl): one field
// per header separated by spaces, "-" (or "" under +Q) when absent.
func appendCapList(dst []byte, caps []string, o opt) []byte {
	if o&optJSON != 0 {
		return appendCapBraces(dst, caps, o)
	}
	for i, v := range caps {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendText(dst, v, o, encHdr)
	}
	return dst
}

func hasRequest(c *Context) bool {
	return c.Txn != nil && c.Txn.Req != nil && c.Txn.Req.Method != ""
}

// appendRequestLine writes %r: "METHOD URI VERSION" rebuilt from Txn.Req,
// '#'-encoded like HAProxy's request line, "<BADREQ>" when no request was
// parsed.
func appendRequestLine(dst []byte, c *Context, o opt) []byte {
	if !hasRequest(c) {
		return appendText(dst, badReq, o, encNone)
	}
	if line, cut := c.truncLine(); cut {
		return appendText(dst, line, o, encURL)
	}
	r := c.Txn.Req
	method, uri := c.requestLine()
	if o&optJSON != 0 {
		dst = append(dst, '"')
		dst = appendJSONBody(dst, method)
		dst = append(dst, ' ')
		dst = appendJSONBody(dst, uri)
		if r.Proto != "" {
			dst = append(dst, ' ')
			dst = appendJSONBody(dst, r.Proto)
		}
		return append(dst, '"')
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	dst = appendRaw(dst, method, o, encURL)
	dst = append(dst, ' ')
	dst = appendRaw(dst, uri, o, encURL)
	if r.Proto != "" {
		dst = append(dst, ' ')
		dst = appendRaw(dst, r.Proto, o, encURL)
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

// requestLine returns the method and target as received (see ReqMethod).
func (c *Context) requestLine() (method, uri string) {
	method, uri = c.Txn.Req.Method, c.Txn.Req.URI
	if c.ReqMethod != "" {
		method = c.ReqMethod
	}
	if c.ReqURI != "" {
		uri = c.ReqURI
	}
	return method, uri
}

// requestPart returns the piece of the request line a %H* variable shows.
func requestPart(c *Context, id varID) string {
	if !hasRequest(c) {
		return badReq
	}
	if line, cut := c.truncLine(); cut {
		return truncPart(line, id)
	}
	r := c.Txn.Req
	method, uri := c.requestLine()
	switch id {
	case vMethod:
		return method
	case vURI:
		return uri
	case vPath:
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			return uri[:i]
		}
		return uri
	case vPathOnly:
		tg := httpmsg.SplitTarget(uri)
		return tg.Path
	case vQuery:
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			return uri[i:]
		}
		return ""
	case vVersion:
		if r.Proto == "" {
			return "HTTP/0.9"
		}
		return r.Proto
	}
	return ""
}

// asapMark writes the '+' HAProxy puts before %B, %Tt, %Ta and %Tu when
// the frontend logs early: the values are what was known then.
func (c *Context) asapMark(dst []byte, o opt) []byte {
	if c.ASAP && o&optJSON == 0 {
		dst = append(dst, '+')
	}
	return dst
}
