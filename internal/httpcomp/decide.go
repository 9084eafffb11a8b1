package httpcomp

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Settings are a proxy's "compression" lines, compiled.
type Settings struct {
	// Algos in HAProxy's preference order: each "compression algo" word
	// goes before those already there, the defaults section's last.
	Algos   []Algo
	Types   []string // "compression type": Content-Type prefixes, any case
	Offload bool     // "compression offload"
}

// Policy is what applies to one transaction: the backend's algorithms
// and types when it has some, else the frontend's, and offload when either
// sets it, as HAProxy 2.6 combines them.
type Policy struct {
	Algos   []Algo
	Types   []string
	Offload bool
}

// Combine merges a frontend's and a backend's settings (either may be nil).
func Combine(fe, be *Settings) Policy {
	var p Policy
	for _, s := range [...]*Settings{be, fe} {
		if s == nil {
			continue
		}
		if p.Algos == nil && len(s.Algos) > 0 {
			p.Algos = s.Algos
		}
		if p.Types == nil && len(s.Types) > 0 {
			p.Types = s.Types
		}
		p.Offload = p.Offload || s.Offload
	}
	return p
}

// Response is what the decision on a response head reads.
type Response struct {
	ClientHTTP11 bool // the request is HTTP/1.1 or later (HTTP/2 included)
	ServerHTTP11 bool // the response is
	Head         bool // the request's method is HEAD
	Status       int
	// KnownLength: the body is delimited by Content-Length, chunked
	// framing or HTTP/2 frames, not by the server's close.
	KnownLength bool
	// Bodyless: the response has no body (1xx, 204, 304, Content-Length:
	// 0, an HTTP/2 response ended with its head).
	Bodyless bool
	Header   httpmsg.Headers
}

// Compress reports whether a response is compressed, given the request
// chose an algorithm. It is HAProxy 2.6's select_compression_response_header:
// HTTP/1.1 on both sides, not HEAD, status 200 to 203, a body with a known
// length, no Content-Encoding, no "Cache-Control: no-transform", at most
// one ETag and a valid one, not multipart, and a Content-Type starting with
// one of types when types are configured (then one is required).
func Compress(r *Response, types []string) bool {
	if !r.ClientHTTP11 || !r.ServerHTTP11 || r.Head {
		return false
	}
	if r.Status < 200 || r.Status > 203 || !r.KnownLength || r.Bodyless {
		return false
	}
	h := r.Header
	etags := 0
	ctype, hasType := "", false
	for i := range h {
		name := h[i].Name
		switch {
		case strings.EqualFold(name, "Content-Encoding"):
			return false
		case strings.EqualFold(name, "Cache-Control"):
			for v := range elements(h[i].Value) {
				if strings.EqualFold(v, "no-transform") {
					return false
				}
			}
		case strings.EqualFold(name, "ETag"):
			etags++
			if etags > 1 || !validETag(trimLWS(h[i].Value)) {
				return false
			}
		case strings.EqualFold(name, "Content-Type"):
			if !hasType {
				ctype, hasType = trimLWS(h[i].Value), true
			}
		}
	}
	if !hasType {
		return len(types) == 0
	}
	if hasPrefixFold(ctype, "multipart") {
		return false
	}
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if hasPrefixFold(ctype, t) {
			return true
		}
	}
	return false
}

// validETag is http_get_etag_type's ETAG_STRONG or ETAG_WEAK.
func validETag(v string) bool {
	if len(v) < 2 || v[len(v)-1] != '"' {
		return false
	}
	return v[0] == '"' || strings.HasPrefix(v, `W/"`)
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// PrepareHead turns the head of a response to be compressed with a into
// the compressed response's, as HAProxy 2.6 does after the response
// rules: Content-Length goes (the length changes; the caller frames the
// body), a strong first ETag becomes weak (the bytes differ, the meaning
// does not), "Vary: Accept-Encoding" is added, and Content-Encoding names
// the coding unless it is identity.
func PrepareHead(h *httpmsg.Headers, a Algo) {
	h.Del("Content-Length")
	for i := range *h {
		f := &(*h)[i]
		if !strings.EqualFold(f.Name, "ETag") {
			continue
		}
		if v := trimLWS(f.Value); strings.HasPrefix(v, `"`) {
			f.Value = "W/" + v
		}
		break
	}
	h.Add("Vary", "Accept-Encoding")
	if a != Identity {
		h.Add("Content-Encoding", a.Token())
	}
}
