// Package httpmsg holds the protocol-neutral Request and Response that rules,
// routing, identity and logging work on. Codecs (HTTP/1.1 today, HTTP/2 later)
// translate wire formats into these types and back.
package httpmsg

import "strings"

// Header is one header field. Names keep the case they arrived with; lookups
// are case-insensitive. Values may alias a connection's read buffer: they are
// valid until the next message is read on that connection.
type Header struct {
	Name, Value string
}

// Headers is an ordered header list. A slice, not a map: most messages carry
// few headers and order matters for proxying.
type Headers []Header

// Get returns the first value of name.
func (h Headers) Get(name string) (string, bool) {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return h[i].Value, true
		}
	}
	return "", false
}

// Has reports whether name is present.
func (h Headers) Has(name string) bool {
	_, ok := h.Get(name)
	return ok
}

// Values appends all values of name to dst.
func (h Headers) Values(dst []string, name string) []string {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			dst = append(dst, h[i].Value)
		}
	}
	return dst
}

// Add appends a field.
func (h *Headers) Add(name, value string) { *h = append(*h, Header{name, value}) }

// Del removes every field called name.
func (h *Headers) Del(name string) {
	s := *h
	j := 0
	for i := range s {
		if !strings.EqualFold(s[i].Name, name) {
			s[j] = s[i]
			j++
		}
	}
	clear(s[j:])
	*h = s[:j]
}

// Set replaces every field called name with one field.
func (h *Headers) Set(name, value string) {
	s := *h
	for i := range s {
		if strings.EqualFold(s[i].Name, name) {
			s[i].Value = value
			rest := s[i+1:]
			*h = s[:i+1]
			for _, f := range rest {
				if !strings.EqualFold(f.Name, name) {
					*h = append(*h, f)
				}
			}
			return
		}
	}
	*h = append(s, Header{name, value})
}

// Request is an HTTP request head with its body framing.
type Request struct {
	Method string
	// URI is the request-target as received: origin-form "/p?q", absolute-form,
	// authority-form (CONNECT) or "*".
	URI string
	// Scheme is the :scheme of an HTTP/2 request that carried an
	// :authority; HAProxy logs such a request's target in absolute-form
	// (scheme://authority/path). Empty otherwise.
	Scheme       string
	Proto        string // "HTTP/1.1", "HTTP/1.0", "HTTP/2.0"
	Major, Minor int
	Header       Headers
	// ContentLength is the body length, -1 when chunked or (for responses) until close.
	ContentLength int64
	Chunked       bool
	// Close is true when the client asked the connection to close after this exchange.
	Close bool
	// Upgrade is the requested protocol of an Upgrade request (e.g. "websocket"), "" otherwise.
	Upgrade string
	// Expect100 is true when the client sent "Expect: 100-continue".
	Expect100 bool
	Trailer   Headers
}

// Target parses the URI (see ParseTarget); invalid targets give a Target
// of FormInvalid with empty parts.
func (r *Request) Target() Target {
	return SplitTarget(r.URI)
}

// Path returns the path part of the URI (without the query), for origin-form
// and absolute-form targets alike; "" for other forms and invalid targets.
func (r *Request) Path() string {
	return SplitTarget(r.URI).Path
}

// Query returns the query string (after the first '?'), "" if none.
func (r *Request) Query() string {
	return SplitTarget(r.URI).Query
}

// HasBody reports whether the request carries a body.
func (r *Request) HasBody() bool { return r.Chunked || r.ContentLength > 0 }

// Reset clears r for reuse, keeping allocated slices.
func (r *Request) Reset() {
	h, t := r.Header[:0], r.Trailer[:0]
	*r = Request{Header: h, Trailer: t}
}

// Response is an HTTP response head with its body framing.
type Response struct {
	Status       int
	Reason       string
	Proto        string
	Major, Minor int
	Header       Headers
	// ContentLength: -1 when chunked or delimited by close.
	ContentLength int64
	Chunked       bool
	Close         bool
	// NoBody is true for responses that never have a body (HEAD, 1xx, 204, 304).
	NoBody  bool
	Trailer Headers
}

// Reset clears r for reuse, keeping allocated slices.
func (r *Response) Reset() {
	h, t := r.Header[:0], r.Trailer[:0]
	*r = Response{Header: h, Trailer: t}
}
