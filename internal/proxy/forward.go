package proxy

import (
	"net/netip"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// untrustedRequestHeaders are removed from every client request before any
// rule runs: the edge is the first hop that can tell the truth about them,
// and a client that sets them is lying to the mesh. X-Forwarded-Client-Cert
// is Envoy's account of the client certificate, which only the edge that
// verified it may give (http-request set-forwarded-client-cert).
var untrustedRequestHeaders = [...]string{
	"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
	"X-Real-IP", "Forwarded", "X-Forwarded-Client-Cert",
}

// sanitizeRequest strips client-supplied forwarding headers. It never
// allocates unless something is removed.
func sanitizeRequest(h *httpmsg.Headers) {
	for _, name := range untrustedRequestHeaders {
		if h.Has(name) {
			h.Del(name)
		}
	}
}

// ForwardFor is the compiled "option forwardfor".
type ForwardFor struct {
	Header string
	Except netip.Prefix // invalid: no exception
	IfNone bool
}

// apply adds the client address unless it is in the except network.
func (f *ForwardFor) apply(h *httpmsg.Headers, src netip.Addr, scratch []byte) []byte {
	if f == nil {
		return scratch
	}
	src = src.Unmap()
	if f.Except.IsValid() && f.Except.Contains(src) {
		return scratch
	}
	if f.IfNone && h.Has(f.Header) {
		return scratch
	}
	start := len(scratch)
	scratch = src.AppendTo(scratch)
	h.Add(f.Header, unsafeString(scratch[start:]))
	return scratch
}

// hostWithoutPort returns the host part of a Host header value, for SNI.
func hostWithoutPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[1:i]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// isIdempotent says whether a request may be replayed on another
// connection after a failure that may have happened after it was sent
// (RFC 9110 §9.2.2).
func isIdempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// OriginalTo is the compiled "option originalto".
type OriginalTo struct {
	Header string
	Except netip.Prefix // invalid: no exception
}

// addOriginalTo adds the connection's destination address as HAProxy
// 2.6 does: when the frontend or the backend has the option, unless the
// address is in either's except network, under the backend's header name
// when it has the option, else the frontend's.
func addOriginalTo(fe, be *OriginalTo, h *httpmsg.Headers, dst netip.Addr, scratch []byte) []byte {
	if fe == nil && be == nil || !dst.IsValid() {
		return scratch
	}
	dst = dst.Unmap()
	for _, o := range [2]*OriginalTo{fe, be} {
		if o != nil && o.Except.IsValid() && o.Except.Contains(dst) {
			return scratch
		}
	}
	name := fe
	if be != nil {
		name = be
	}
	start := len(scratch)
	scratch = dst.AppendTo(scratch)
	h.Add(name.Header, unsafeString(scratch[start:]))
	return scratch
}
