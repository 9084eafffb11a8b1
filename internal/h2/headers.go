package h2

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// The Framer already rejected: undecodable blocks, invalid field names
// (including upper case) and values, pseudo fields after regular ones,
// unknown and duplicate pseudo fields, mixed request/response pseudo fields.
// What is left is request semantics (RFC 9113 §8.3.1) and what must not
// reach an HTTP/1.1 upstream.

// buildRequest maps a request header block onto req.
func buildRequest(req *httpmsg.Request, f *http2.MetaHeadersFrame) error {
	var method, scheme, path, authority string
	var hasAuthority bool
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":path":
			path = hf.Value
		case ":authority":
			authority, hasAuthority = hf.Value, true
		default: // :status, or :protocol which needs SETTINGS_ENABLE_CONNECT_PROTOCOL
			return errors.New("pseudo-header " + hf.Name + " not allowed in a request")
		}
	}
	if method == "" || !validToken(method) {
		return errors.New("missing or invalid :method")
	}
	if method == "CONNECT" {
		if scheme != "" || path != "" || !hasAuthority {
			return errors.New("CONNECT needs :authority only")
		}
		if tg, err := httpmsg.ParseTarget(authority); err != nil || tg.Form != httpmsg.FormAuthority {
			return errors.New("CONNECT :authority is not host:port")
		}
		req.URI = authority
	} else {
		if scheme == "" || path == "" {
			return errors.New("missing :scheme or :path")
		}
		// The same parser as HTTP/1.1's request-target: rules and upstreams
		// see the same split whichever protocol the client spoke.
		tg, err := httpmsg.ParseTarget(path)
		if err != nil || tg.Form != httpmsg.FormOrigin && (tg.Form != httpmsg.FormAsterisk || method != "OPTIONS") {
			return errors.New("invalid :path")
		}
		req.URI = path
		if hasAuthority {
			req.Scheme = scheme
		}
	}
	if hasAuthority && (authority == "" && method == "CONNECT" || !httpguts.ValidHostHeader(authority)) {
		return errors.New("invalid :authority")
	}
	req.Method = method
	req.Proto, req.Major, req.Minor = "HTTP/2.0", 2, 0

	regular := f.RegularFields()
	hdr := make(httpmsg.Headers, 0, len(regular)+1)
	if hasAuthority {
		hdr = append(hdr, httpmsg.Header{Name: "host", Value: authority})
	}
	cookie, hasCookie, contentLength := "", false, ""
	for _, hf := range regular {
		if err := checkField(hf.Name, hf.Value); err != nil {
			return err
		}
		switch hf.Name {
		case "host":
			if hasAuthority {
				// Routing must not see two different hosts (RFC 9113 §8.3.1).
				if !strings.EqualFold(hf.Value, authority) {
					return errors.New("host differs from :authority")
				}
				continue
			}
		case "cookie":
			// Split crumbs are joined back (RFC 9113 §8.2.3) into one field
			// after all the others, where HAProxy 2.6 puts it.
			if hasCookie {
				cookie += "; " + hf.Value
			} else {
				cookie, hasCookie = hf.Value, true
			}
			continue
		case "content-length":
			if contentLength != "" {
				if contentLength != hf.Value {
					return errors.New("conflicting content-length")
				}
				continue // one field goes on, as from HTTP/1.1 (http1.normalizeContentLength)
			}
			contentLength = hf.Value
		}
		hdr = append(hdr, httpmsg.Header{Name: hf.Name, Value: hf.Value})
	}
	if hasCookie {
		hdr = append(hdr, httpmsg.Header{Name: "cookie", Value: cookie})
	}
	req.Header = hdr

	switch {
	case contentLength != "":
		n, err := strconv.ParseInt(contentLength, 10, 64)
		if err != nil || n < 0 || contentLength[0] == '+' {
			return errors.New("invalid content-length")
		}
		if f.StreamEnded() && n != 0 {
			return errors.New("content-length with no body")
		}
		req.ContentLength = n
	case f.StreamEnded():
		req.ContentLength = 0
	default:
		req.ContentLength, req.Chunked = -1, true
	}
	return nil
}

func buildTrailers(f *http2.MetaHeadersFrame) (httpmsg.Headers, error) {
	if len(f.PseudoFields()) > 0 {
		return nil, errors.New("pseudo-header in trailers")
	}
	tr := make(httpmsg.Headers, 0, len(f.Fields))
	for _, hf := range f.Fields {
		if err := checkField(hf.Name, hf.Value); err != nil {
			return nil, err
		}
		tr = append(tr, httpmsg.Header{Name: hf.Name, Value: hf.Value})
	}
	return tr, nil
}

// checkField rejects connection-specific fields (RFC 9113 §8.2.2).
func checkField(name, value string) error {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return errors.New("connection-specific field " + name)
	case "te":
		if value != "trailers" {
			return errors.New(`te other than "trailers"`)
		}
	}
	return nil
}

func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return true
}
