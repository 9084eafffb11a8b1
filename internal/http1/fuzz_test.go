package http1

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		browserRequest,
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\nHost: b\nContent-Length: 5, 5\n\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET http://h:1/p HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), Limits{BufSize: 4096})
		var req httpmsg.Request
		err := r.ReadRequest(&req)
		if err != nil {
			if pe, ok := err.(*ProtocolError); ok && pe.Status == 0 {
				t.Fatalf("error without status: %v", err)
			}
			return
		}
		if req.Minor != 1 {
			return // re-serialized as HTTP/1.1, which changes 1.0 semantics
		}
		var out bytes.Buffer
		w := NewWriter(&out, 0)
		if err := w.WriteRequestHead(&req); err != nil {
			t.Fatalf("accepted request does not serialize: %v", err)
		}
		w.Flush()
		var back httpmsg.Request
		if err := NewReader(&out, Limits{BufSize: 8192}).ReadRequest(&back); err != nil {
			t.Fatalf("re-parse of %q: %v", out.String(), err)
		}
		if back.Method != req.Method || back.URI != req.URI || back.ContentLength != req.ContentLength ||
			back.Chunked != req.Chunked || back.Close != req.Close || back.Upgrade != req.Upgrade ||
			back.Expect100 != req.Expect100 || len(back.Header) != len(req.Header) {
			t.Fatalf("round trip differs:\n%+v\n%+v", req, back)
		}
		for i := range req.Header {
			if back.Header[i] != req.Header[i] {
				t.Fatalf("field %d: %q vs %q", i, req.Header[i], back.Header[i])
			}
		}
	})
}

func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX: y\r\n\r\n",
		"0\r\n\r\n",
		"A\r\n0123456789\r\n0\r\nT: 1\r\nU: 2\r\n\r\nGET",
		"5\nhello\r\n0\r\n\r\n",
		"ffffffffffffffff\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		lim := Limits{BufSize: 1024}
		decode := func(src io.Reader) (string, httpmsg.Headers, error) {
			r := NewReader(src, lim)
			br := r.Body(Framing{Kind: BodyChunked})
			b, err := io.ReadAll(br)
			return string(b), br.Trailer(), err
		}
		body, tr, err := decode(bytes.NewReader(in))
		body2, _, err2 := decode(&oneByte{string(in)})
		if (err == nil) != (err2 == nil) || err == nil && body != body2 {
			t.Fatalf("read size changes the outcome: %v vs %v", err, err2)
		}
		if err != nil {
			return
		}
		// CopyBody must agree with BodyReader, and its output must decode
		// to the same payload and trailers.
		var out bytes.Buffer
		w := NewWriter(&out, 0)
		n, rerr, werr := NewReader(bytes.NewReader(in), lim).CopyBody(w, Framing{Kind: BodyChunked}, CopyOptions{})
		w.Flush()
		if rerr != nil || werr != nil || n != int64(len(body)) {
			t.Fatalf("CopyBody n=%d %v %v, BodyReader read %d", n, rerr, werr, len(body))
		}
		body3, tr3, err := decode(strings.NewReader(out.String()))
		if err != nil || body3 != body || len(tr3) != len(tr) {
			t.Fatalf("re-emitted body differs: %v %q", err, out.String())
		}
		for i := range tr {
			if tr[i] != tr3[i] {
				t.Fatalf("trailer %d: %q vs %q", i, tr[i], tr3[i])
			}
		}
	})
}
