package http1

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// readReq parses one request from s through a Reader.
func readReq(t testing.TB, s string) (*httpmsg.Request, error) {
	t.Helper()
	r := NewReader(strings.NewReader(s), Limits{})
	req := new(httpmsg.Request)
	return req, r.ReadRequest(req)
}

func TestReadRequestValid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		method    string
		uri       string
		proto     string
		host      string
		cl        int64
		chunked   bool
		close     bool
		upgrade   string
		expect100 bool
		nhdr      int
	}{
		{"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "HTTP/1.1", "a", 0, false, false, "", false, 1},
		{"bare LF head", "GET /x?y=1 HTTP/1.1\nHost: a\n\n", "GET", "/x?y=1", "HTTP/1.1", "a", 0, false, false, "", false, 1},
		{"leading CRLF skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "HTTP/1.1", "a", 0, false, false, "", false, 1},
		{"OWS trimmed", "GET / HTTP/1.1\r\nHost: \t a \t\r\nX-E:\r\n\r\n", "GET", "/", "HTTP/1.1", "a", 0, false, false, "", false, 2},
		{"content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", "POST", "/", "HTTP/1.1", "a", 42, false, false, "", false, 2},
		{"identical CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", "POST", "/", "HTTP/1.1", "a", 5, false, false, "", false, 2},
		{"identical CL fields", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", "POST", "/", "HTTP/1.1", "a", 5, false, false, "", false, 2},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/", "HTTP/1.1", "a", -1, true, false, "", false, 2},
		{"chunked case and OWS", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  ChunKed \r\n\r\n", "POST", "/", "HTTP/1.1", "a", -1, true, false, "", false, 2},
		{"chunked empty list element", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n", "POST", "/", "HTTP/1.1", "a", -1, true, false, "", false, 2},
		{"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n", "GET", "/", "HTTP/1.1", "a", 0, false, true, "", false, 2},
		{"1.0 default close", "GET / HTTP/1.0\r\n\r\n", "GET", "/", "HTTP/1.0", "", 0, false, true, "", false, 0},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", "HTTP/1.0", "", 0, false, false, "", false, 1},
		{"upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "GET", "/ws", "HTTP/1.1", "a", 0, false, false, "websocket", false, 4},
		{"upgrade other protocol", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo/2\r\n\r\n", "GET", "/x", "HTTP/1.1", "a", 0, false, false, "foo/2", false, 3},
		{"upgrade without connection token", "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", "GET", "/ws", "HTTP/1.1", "a", 0, false, false, "", false, 2},
		{"expect 100", "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", "PUT", "/f", "HTTP/1.1", "a", 1, false, false, "", true, 3},
		{"expect ignored in 1.0", "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "PUT", "/f", "HTTP/1.0", "", 0, false, true, "", false, 1},
		{"absolute-form keeps a matching Host", "GET HTTP://B.example:80/p?q HTTP/1.1\r\nHost: b.example\r\n\r\n", "GET", "HTTP://B.example/p?q", "HTTP/1.1", "B.example", 0, false, false, "", false, 1},
		{"absolute-form Host default port", "GET https://b.example/p HTTP/1.1\r\nHost: b.example:443\r\n\r\n", "GET", "https://b.example/p", "HTTP/1.1", "b.example:443", 0, false, false, "", false, 1},
		{"absolute-form 1.0 adds Host", "GET https://b.example HTTP/1.0\r\n\r\n", "GET", "https://b.example", "HTTP/1.0", "b.example", 0, false, true, "", false, 1},
		{"connect", "CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n", "CONNECT", "b.example:443", "HTTP/1.1", "b.example:443", 0, false, false, "", false, 1},
		{"connect ipv6", "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", "CONNECT", "[::1]:8443", "HTTP/1.1", "[::1]:8443", 0, false, false, "", false, 1},
		{"connect host default port", "CONNECT B.example:443 HTTP/1.1\r\nHost: b.example\r\n\r\n", "CONNECT", "B.example:443", "HTTP/1.1", "b.example", 0, false, false, "", false, 1},
		{"connect 1.0 without host", "CONNECT b.example:5432 HTTP/1.0\r\n\r\n", "CONNECT", "b.example:5432", "HTTP/1.0", "", 0, false, true, "", false, 0},
		{"connect content-length 0", "CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\nContent-Length: 0\r\n\r\n", "CONNECT", "b.example:443", "HTTP/1.1", "b.example:443", 0, false, false, "", false, 2},
		{"options star", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", "HTTP/1.1", "a", 0, false, false, "", false, 1},
		{"custom method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", "PURGE", "/x", "HTTP/1.1", "a", 0, false, false, "", false, 1},
		{"obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", "GET", "/", "HTTP/1.1", "a", 0, false, false, "", false, 2},
		{"empty host 1.1", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", "HTTP/1.1", "", 0, false, false, "", false, 1},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "GET", "/", "HTTP/1.1", "[::1]:80", 0, false, false, "", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := readReq(t, tt.in)
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			host, _ := req.Header.Get("host")
			if req.Method != tt.method || req.URI != tt.uri || req.Proto != tt.proto || host != tt.host {
				t.Errorf("got %q %q %q host %q", req.Method, req.URI, req.Proto, host)
			}
			if req.ContentLength != tt.cl || req.Chunked != tt.chunked || req.Close != tt.close {
				t.Errorf("framing: cl=%d chunked=%v close=%v", req.ContentLength, req.Chunked, req.Close)
			}
			if req.Upgrade != tt.upgrade || req.Expect100 != tt.expect100 {
				t.Errorf("upgrade=%q expect100=%v", req.Upgrade, req.Expect100)
			}
			if len(req.Header) != tt.nhdr {
				t.Errorf("headers: %d %q", len(req.Header), req.Header)
			}
		})
	}
}

func TestReadRequestRejected(t *testing.T) {
	big := strings.Repeat("a", DefaultMaxURI+1)
	manyHdrs := strings.Repeat("X-A: b\r\n", DefaultMaxHeaders)
	hugeHdr := "X: " + strings.Repeat("v", DefaultBufSize) + "\r\n"
	tests := []struct {
		name   string
		in     string
		status int
	}{
		// request line
		{"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"missing version", "GET /\r\nHost: a\r\n\r\n", 400},
		{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
		{"space in uri", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"ctl in uri", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"fragment in uri", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"8bit in uri", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"bad method char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"http 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"http 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
		{"http 0.9 style", "GET /\r\n\r\n", 400},
		{"short version", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
		{"uri too long", "GET /" + big + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"star not options", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"connect origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"connect no port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"connect absolute-form", "CONNECT http://a:443/ HTTP/1.1\r\nHost: a:443\r\n\r\n", 400},
		{"connect userinfo", "CONNECT u@a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400},
		{"connect two colons", "CONNECT a:b:443 HTTP/1.1\r\nHost: a:b:443\r\n\r\n", 400},
		{"connect empty port", "CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"connect port 0", "CONNECT a:0 HTTP/1.1\r\nHost: a:0\r\n\r\n", 400},
		{"connect port too big", "CONNECT a:65536 HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400},
		{"connect bad ipv6", "CONNECT [::g]:443 HTTP/1.1\r\nHost: [::g]:443\r\n\r\n", 400},
		{"connect bad pct", "CONNECT a%2:443 HTTP/1.1\r\nHost: a%2:443\r\n\r\n", 400},
		{"connect host differs", "CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n", 400},
		{"connect host port differs", "CONNECT a:443 HTTP/1.1\r\nHost: a:444\r\n\r\n", 400},
		{"connect host without non-default port", "CONNECT a:8443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"connect with content-length", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"connect with chunked body", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"websocket without key", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 400},
		{"websocket in a list without key", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo, WebSocket\r\n\r\n", 400},
		{"websocket two keys", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Key: b\r\n\r\n", 400},
		{"absolute-form other Host", "GET http://b.example:8080/p?q HTTP/1.1\r\nHost: evil\r\n\r\n", 400},
		{"absolute-form Host other port", "GET http://b.example:8080/p HTTP/1.1\r\nHost: b.example\r\n\r\n", 400},
		{"absolute-form Host https port on http", "GET http://b.example/p HTTP/1.1\r\nHost: b.example:443\r\n\r\n", 400},
		{"absolute userinfo", "GET http://u@b/ HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"absolute empty authority", "GET http:///x HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"scheme without slashes", "GET http:b/x HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"scheme after a slash", "GET a/b://c/d HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"scheme after a query", "GET a?b://c/d HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"scheme starting with a digit", "GET 1http://c/d HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"absolute backslash authority", "GET http://c\\d/ HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"authority-form not connect", "GET b.example:443 HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"connect absolute-form", "CONNECT http://b.example:443/ HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"connect star", "CONNECT * HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"absolute query without path", "GET http://b?u=/x HTTP/1.1\r\nHost: b\r\n\r\n", 400},
		{"bare CR request line", "GET / HTTP/1.1\rX\r\nHost: a\r\n\r\n", 400},
		// fields
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"bad host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", 400},
		{"leading ws first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
		{"bad name char", "GET / HTTP/1.1\r\nHo[st: a\r\n\r\n", 400},
		{"nul in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400},
		{"ctl in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n", 400},
		{"del in value", "GET / HTTP/1.1\r\nHost: a\r\nX: abcdefgh\x7fijklmnop\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},
		{"bare CR line end", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400},
		{"too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + manyHdrs + "\r\n", 400},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\n" + hugeHdr + "\r\n", 431},
		// framing: smuggling vectors
		{"CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE.CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n", 400},
		{"TE xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501},
		{"TE chunked vtab", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n", 400},
		{"TE leading space name", "POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n", 400},
		{"TE space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
		{"TE duplicated fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"TE gzip chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501},
		{"TE quoted", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400},
		{"TE empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"CL plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400},
		{"CL minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400},
		{"CL inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400},
		{"CL list differs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,2\r\n\r\n", 400},
		{"CL fields differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
		{"CL empty element", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400},
		{"CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400},
		{"CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readReq(t, tt.in)
			if got := errStatus(err); got != tt.status {
				t.Fatalf("status %d (err %v), want %d", got, err, tt.status)
			}
		})
	}
}

func TestReadRequestEOF(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"clean close", "", io.EOF},
		{"close after empty lines", "\r\n\r\n", io.EOF},
		{"truncated request line", "GET / HT", io.ErrUnexpectedEOF},
		{"truncated fields", "GET / HTTP/1.1\r\nHost: a\r\n", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readReq(t, tt.in); err != tt.want {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// timeoutErr mimics a net.Error deadline.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type errAfter struct {
	data string
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadRequestTimeoutPassesThrough(t *testing.T) {
	r := NewReader(&errAfter{"GET / HTTP/1.1\r\n", timeoutErr{}}, Limits{})
	var req httpmsg.Request
	err := r.ReadRequest(&req)
	var te timeoutErr
	if !errors.As(err, &te) {
		t.Fatalf("err %v, want the timeout", err)
	}
	if r.Buffered() == 0 {
		t.Fatal("partial head should stay buffered")
	}
}

// oneByte reads one byte per call, the worst case for incremental parsing.
type oneByte struct{ s string }

func (o *oneByte) Read(p []byte) (int, error) {
	if o.s == "" {
		return 0, io.EOF
	}
	p[0] = o.s[0]
	o.s = o.s[1:]
	return 1, nil
}

func TestPipelinedAndSplit(t *testing.T) {
	in := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /2 HTTP/1.1\nHost: b\nContent-Length: 3\n\nabc" +
		"\r\nGET /3 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"
	readers := map[string]io.Reader{
		"one buffer": strings.NewReader(in),
		"one byte":   &oneByte{in},
	}
	for name, src := range readers {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src, Limits{})
			var req httpmsg.Request
			for i, want := range []string{"/1", "/2", "/3"} {
				if err := r.ReadRequest(&req); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if req.URI != want {
					t.Fatalf("request %d: URI %q want %q", i, req.URI, want)
				}
				body, err := io.ReadAll(r.Body(RequestFraming(&req)))
				if err != nil {
					t.Fatalf("body %d: %v", i, err)
				}
				if want == "/2" && string(body) != "abc" {
					t.Fatalf("body %q", body)
				}
			}
			if !req.Close {
				t.Error("last request should ask to close")
			}
			if err := r.ReadRequest(&req); err != io.EOF {
				t.Fatalf("after last: %v", err)
			}
		})
	}
}

func TestStringsSurviveBodyAndRelease(t *testing.T) {
	in := "POST /keep HTTP/1.1\r\nHost: a\r\nX-Long: " + strings.Repeat("z", 100) +
		"\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("b", 20000)
	r := NewReader(strings.NewReader(in), Limits{})
	var req httpmsg.Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r.Body(RequestFraming(&req)))
	if err != nil || n != 20000 {
		t.Fatalf("body n=%d err=%v", n, err)
	}
	if !r.Release() {
		t.Fatal("Release refused with nothing buffered")
	}
	if v, _ := req.Header.Get("x-long"); req.URI != "/keep" || v != strings.Repeat("z", 100) {
		t.Fatalf("strings changed: %q %q", req.URI, v)
	}
}

// TestContentLengthNormalized: a Content-Length list or repeated fields
// that agree leave one field, where the first was, with the one value,
// in requests and responses alike, as HAProxy forwards them.
func TestContentLengthNormalized(t *testing.T) {
	for _, tc := range []struct {
		name, fields, want string
	}{
		{"list", "Content-Length: 5, 5\r\nX: y\r\n", "Content-Length: 5|X: y"},
		{"list without spaces", "Content-Length: 05,5\r\n", "Content-Length: 5"},
		{"repeated fields", "X: a\r\nContent-Length: 5\r\nX: b\r\ncontent-length: 5\r\n", "X: a|Content-Length: 5|X: b"},
		{"list and field", "content-length: 5,5\r\nContent-Length: 5\r\n", "content-length: 5"},
		{"single field untouched", "Content-Length: 005\r\n", "Content-Length: 005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := func(h httpmsg.Headers) string {
				var out []string
				for _, f := range h {
					if !strings.EqualFold(f.Name, "Host") {
						out = append(out, f.Name+": "+f.Value)
					}
				}
				return strings.Join(out, "|")
			}
			req, err := readReq(t, "POST / HTTP/1.1\r\nHost: a\r\n"+tc.fields+"\r\nhello")
			if err != nil {
				t.Fatal(err)
			}
			if got := fields(req.Header); got != tc.want || req.ContentLength != 5 {
				t.Errorf("request: %q (length %d), want %q", got, req.ContentLength, tc.want)
			}
			for _, method := range []string{"GET", "HEAD"} {
				var resp httpmsg.Response
				r := NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n"+tc.fields+"\r\nhello"), Limits{})
				if err := r.ReadResponse(&resp, method); err != nil {
					t.Fatal(err)
				}
				if got := fields(resp.Header); got != tc.want {
					t.Errorf("response to %s: %q, want %q", method, got, tc.want)
				}
			}
		})
	}
}
