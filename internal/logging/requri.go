package logging

import (
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// DefaultRequestLineMax is the request line HAProxy keeps for its logs
// without tune.http.logurilen: a 1024-byte buffer, its last byte the NUL.
const DefaultRequestLineMax = 1023

var requestLineMax atomic.Int64

func init() { requestLineMax.Store(DefaultRequestLineMax) }

// SetRequestLineMax sets how many bytes of the request line ("METHOD URI
// VERSION") %r, %HM, %HU, %HP, %HPO, %HQ and %HV see, process-wide as
// HAProxy's tune.http.logurilen; n < 0: DefaultRequestLineMax.
func SetRequestLineMax(n int) {
	if n < 0 {
		n = DefaultRequestLineMax
	}
	requestLineMax.Store(int64(n))
}

// CutRequestLine is the method and target of the request line as the
// logs keep it, cut at the configured length: what HAProxy's capture.req.*
// fetches read. A line cut inside the method has no target ("").
func CutRequestLine(method, uri, proto string) (string, string) {
	n := len(method) + 1 + len(uri)
	if proto != "" {
		n += 1 + len(proto)
	}
	limit := int(requestLineMax.Load())
	switch {
	case n <= limit:
		return method, uri
	case limit <= len(method):
		return method[:limit], ""
	}
	return method, uri[:min(len(uri), limit-len(method)-1)]
}

// truncLine is the request line cut to the configured length, as HAProxy
// keeps it (http_fmt_req_line), when the whole line is longer; false when
// it fits and the variables read the request itself.
func (c *Context) truncLine() (string, bool) {
	r := c.Txn.Req
	method, uri := c.requestLine()
	n := len(method) + 1 + len(uri)
	if r.Proto != "" {
		n += 1 + len(r.Proto)
	}
	limit := int(requestLineMax.Load())
	if n <= limit {
		return "", false
	}
	var b strings.Builder
	b.Grow(limit)
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(uri)
	b.WriteByte(' ')
	b.WriteString(r.Proto)
	return b.String()[:limit], true
}

func isSPHT(c byte) bool { return c == ' ' || c == '\t' }

// truncPart is what a %H* variable shows of a cut request line, read as
// HAProxy reads its kept line: a line cut inside the method has no URI
// (<BADREQ>), one cut before the version is HTTP/0.9 to %HV.
func truncPart(line string, id varID) string {
	i := 0
	for i < len(line) && !isSPHT(line[i]) {
		i++
	}
	if id == vMethod {
		if i == len(line) {
			return badReq
		}
		return line[:i]
	}
	if id == vQuery {
		q := strings.IndexByte(line, '?')
		if q < 0 {
			return ""
		}
		e := q
		for e < len(line) && !isSPHT(line[e]) {
			e++
		}
		return line[q:e]
	}
	nspaces := 0
	for i < len(line) && isSPHT(line[i]) {
		i++
		nspaces++
	}
	if nspaces == 0 {
		return badReq
	}
	e := i
	for e < len(line) && !isSPHT(line[e]) && (id != vPath || line[e] != '?') {
		e++
	}
	switch id {
	case vURI, vPath:
		return line[i:e]
	case vPathOnly:
		return httpmsg.SplitTarget(line[i:e]).Path
	case vVersion:
		for e < len(line) && isSPHT(line[e]) {
			e++
		}
		if e == len(line) {
			return "HTTP/0.9"
		}
		return line[e:]
	}
	return ""
}
