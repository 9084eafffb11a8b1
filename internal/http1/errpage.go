package http1

import (
	"bytes"
	"strconv"
)

// errorPage is the status line reason and the HTML text of a built-in error
// page. The texts are HAProxy's own (src/http.c, http_err_msgs), so clients
// and monitors see the same bytes they would from HAProxy. HAProxy has no
// page for 414, 431, 501 and 505; those follow the same pattern.
type errorPage struct{ reason, text string }

func pageFor(status int) errorPage {
	switch status {
	case 200:
		return errorPage{"OK", "Service ready."}
	case 400:
		return errorPage{"Bad request", "Your browser sent an invalid request."}
	case 401:
		return errorPage{"Unauthorized", "You need a valid user and password to access this content."}
	case 403:
		return errorPage{"Forbidden", "Request forbidden by administrative rules."}
	case 404:
		return errorPage{"Not Found", "The resource could not be found."}
	case 405:
		return errorPage{"Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"}
	case 407:
		return errorPage{"Unauthorized", "You need a valid user and password to access this content."}
	case 408:
		return errorPage{"Request Time-out", "Your browser didn't send a complete request in time."}
	case 410:
		return errorPage{"Gone", "The resource is no longer available and will not be available again."}
	case 413:
		return errorPage{"Payload Too Large", "The request entity exceeds the maximum allowed."}
	case 414:
		return errorPage{"Request-URI Too Long", "The request URI is too long."}
	case 421:
		return errorPage{"Misdirected Request", "Request sent to a non-authoritative server."}
	case 425:
		return errorPage{"Too Early", "Your browser sent early data."}
	case 429:
		return errorPage{"Too Many Requests", "You have sent too many requests in a given amount of time."}
	case 431:
		return errorPage{"Request Header Fields Too Large", "Your browser sent too large request headers."}
	case 500:
		return errorPage{"Internal Server Error", "An internal server error occurred."}
	case 501:
		return errorPage{"Not Implemented", "The server does not support the functionality required to fulfill the request."}
	case 502:
		return errorPage{"Bad Gateway", "The server returned an invalid or incomplete response."}
	case 503:
		return errorPage{"Service Unavailable", "No server is available to handle this request."}
	case 504:
		return errorPage{"Gateway Time-out", "The server didn't respond in time."}
	case 505:
		return errorPage{"HTTP Version Not Supported", "The HTTP version of the request is not supported."}
	}
	return errorPage{StatusText(status), ""}
}

// AppendErrorResponse appends a complete "connection: close" error response
// to dst. An empty body selects the HAProxy-style page for status, e.g.
// "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid
// request.\n</body></html>\n"; otherwise body is sent as the HTML as is.
// Header names are lower case, as HAProxy emits them.
func AppendErrorResponse(dst []byte, status int, body string) []byte {
	return AppendErrorResponseConn(dst, status, body, "close")
}

// AppendErrorResponseConn is AppendErrorResponse with conn as the
// connection value, none when empty: HAProxy keeps the client connection
// after its own error pages when the request allows it.
func AppendErrorResponseConn(dst []byte, status int, body, conn string) []byte {
	p := pageFor(status)
	code := strconv.Itoa(status)
	n := len(body)
	if body == "" {
		n = len("<html><body><h1>") + len(code) + 1 + len(p.reason) + len("</h1>\n") +
			len(p.text) + len("\n</body></html>\n")
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = append(dst, code...)
	dst = append(dst, ' ')
	dst = append(dst, p.reason...)
	dst = append(dst, "\r\ncontent-length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"...)
	if conn != "" {
		dst = append(dst, "connection: "...)
		dst = append(dst, conn...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if body != "" {
		return append(dst, body...)
	}
	dst = append(dst, "<html><body><h1>"...)
	dst = append(dst, code...)
	dst = append(dst, ' ')
	dst = append(dst, p.reason...)
	dst = append(dst, "</h1>\n"...)
	dst = append(dst, p.text...)
	return append(dst, "\n</body></html>\n"...)
}

// ErrorPageBody returns the HTML of the built-in page for status, as
// AppendErrorResponse writes it, for an answer sent without closing (the
// monitor-uri's 200 and 503).
func ErrorPageBody(status int) []byte {
	resp := AppendErrorResponse(nil, status, "")
	if i := bytes.Index(resp, []byte("\r\n\r\n")); i >= 0 {
		return resp[i+4:]
	}
	return nil
}
