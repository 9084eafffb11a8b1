package http1

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// TestAcceptInvalid: what Limits.AcceptInvalid admits (HAProxy 2.6's
// accept-invalid-http-request characters), what it never admits (framing,
// line structure), and that nothing changes without it.
func TestAcceptInvalid(t *testing.T) {
	cases := []struct {
		head    string
		relaxed bool // accepted with AcceptInvalid
	}{
		{"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET http://x/p#f HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: x\r\nFoo Bar: 1\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-\x01\xff@: 1\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: x\r\nFoo : 1\r\n\r\n", true},
		// Never: controls, space or DEL in the target; empty names, bare
		// CR, folding; framing fields hidden behind whitespace; conflicts.
		{"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: x\r\nA\rB: 1\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost : y\r\nHost: x\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", false},
	}
	for _, tc := range cases {
		var req httpmsg.Request
		if err := ParseRequest([]byte(tc.head), &req, Limits{}); err == nil {
			t.Errorf("strict parser accepted %q", tc.head)
		}
		err := ParseRequest([]byte(tc.head), &req, Limits{AcceptInvalid: true})
		if (err == nil) != tc.relaxed {
			t.Errorf("AcceptInvalid: %q: %v, want accepted %v", tc.head, err, tc.relaxed)
			continue
		}
		if err != nil {
			continue
		}
		// Relayed as received by a writer that allows it, refused by one
		// that does not.
		var out bytes.Buffer
		w := NewWriter(&out, 0)
		if err := w.WriteRequestHead(&req); err == nil {
			t.Errorf("a strict writer wrote %q", tc.head)
		}
		w = NewWriter(&out, 0)
		w.AcceptInvalid = true
		if err := w.WriteRequestHead(&req); err != nil {
			t.Errorf("relaxed writer: %q: %v", tc.head, err)
		}
		w.Flush()
		if !strings.HasPrefix(out.String(), strings.SplitN(tc.head, "\r\n", 2)[0]) {
			t.Errorf("request line %q became %q", tc.head, out.String())
		}
	}
	// Responses: names only.
	var resp httpmsg.Response
	head := "HTTP/1.1 200 OK\r\nBad Name@: 1\r\nContent-Length: 0\r\n\r\n"
	if err := ParseResponse([]byte(head), &resp, "GET", Limits{}); err == nil {
		t.Error("strict response parser accepted an invalid name")
	}
	if err := ParseResponse([]byte(head), &resp, "GET", Limits{AcceptInvalid: true}); err != nil {
		t.Errorf("relaxed response parser: %v", err)
	}
}

// FuzzReadRequestInvalid: under AcceptInvalid no accepted head carries a
// name or target that could end a line or a name early, and the framing
// the proxy reads is the one a server reading the relayed bytes reads.
func FuzzReadRequestInvalid(f *testing.F) {
	for _, s := range []string{
		"GET /caf\xc3\xa9#x HTTP/1.1\r\nHost: a\r\nFoo Bar: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: a\r\nX\x01: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		lim := Limits{BufSize: 4096, AcceptInvalid: true}
		r := NewReader(bytes.NewReader(in), lim)
		var req httpmsg.Request
		if err := r.ReadRequest(&req); err != nil {
			return
		}
		for _, h := range req.Header {
			if h.Name == "" || strings.ContainsAny(h.Name, ":\r\n") {
				t.Fatalf("accepted name %q", h.Name)
			}
		}
		if strings.ContainsAny(req.URI, " \r\n\x00\x7f") {
			t.Fatalf("accepted target %q", req.URI)
		}
		if req.Minor != 1 {
			return
		}
		var out bytes.Buffer
		w := NewWriter(&out, 0)
		w.AcceptInvalid = true
		if err := w.WriteRequestHead(&req); err != nil {
			t.Fatalf("accepted request does not serialize: %v", err)
		}
		w.Flush()
		// Strictly parsed again (names relaxed as before), the relayed head
		// frames the body the same way.
		var again httpmsg.Request
		if err := ParseRequest(out.Bytes(), &again, lim); err != nil {
			t.Fatalf("relayed head refused: %v\n%q", err, out.String())
		}
		f1 := RequestFraming(&req)
		f2 := RequestFraming(&again)
		if f1 != f2 {
			t.Fatalf("framing changed: %+v vs %+v", f1, f2)
		}
	})
}
