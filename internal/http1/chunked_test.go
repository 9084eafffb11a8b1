package http1

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

const chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

// readChunked parses chunkedHead+body and reads the whole body.
func readChunked(t testing.TB, body string, src func(string) io.Reader) (string, httpmsg.Headers, error) {
	t.Helper()
	r := NewReader(src(chunkedHead+body), Limits{})
	var req httpmsg.Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatalf("head: %v", err)
	}
	br := r.Body(RequestFraming(&req))
	got, err := io.ReadAll(br)
	return string(got), br.Trailer(), err
}

func whole(s string) io.Reader    { return strings.NewReader(s) }
func bytewise(s string) io.Reader { return &oneByte{s} }

func TestChunkedValid(t *testing.T) {
	tests := []struct {
		name, in, want string
		trailer        string // "Name=Value" of the first trailer, "" if none
	}{
		{"simple", "5\r\nhello\r\n0\r\n\r\n", "hello", ""},
		{"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", ""},
		{"upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", ""},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", ""},
		{"extension", "5;name=val\r\nhello\r\n0;x\r\n\r\n", "hello", ""},
		{"extension after BWS", "5 ;q=\"a b\"\r\nhello\r\n0\r\n\r\n", "hello", ""},
		{"trailers", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-Two: 2\r\n\r\n", "hello", "X-Sum=abc"},
		{"empty body", "0\r\n\r\n", "", ""},
	}
	for _, tt := range tests {
		for name, src := range map[string]func(string) io.Reader{"whole": whole, "bytewise": bytewise} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				got, tr, err := readChunked(t, tt.in, src)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Fatalf("body %q want %q", got, tt.want)
				}
				if tt.trailer != "" {
					if len(tr) == 0 || tr[0].Name+"="+tr[0].Value != tt.trailer {
						t.Fatalf("trailer %q", tr)
					}
				}
			})
		}
	}
}

func TestChunkedRejected(t *testing.T) {
	tests := []struct {
		name, in string
		want     int // status; 0: io.ErrUnexpectedEOF
	}{
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400},
		{"negative", "-5\r\nhello\r\n0\r\n\r\n", 400},
		{"plus", "+5\r\nhello\r\n0\r\n\r\n", 400},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n", 400},
		{"trailing space no ext", "5 \r\nhello\r\n0\r\n\r\n", 400},
		{"empty size", "\r\nhello\r\n0\r\n\r\n", 400},
		{"overflow", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
		{"16 digits", "1000000000000000\r\nx\r\n0\r\n\r\n", 400},
		{"bare LF size line", "5\nhello\r\n0\r\n\r\n", 400},
		{"bare CR size line", "5\rhello\r\n0\r\n\r\n", 400},
		{"bare LF after data", "5\r\nhello\n0\r\n\r\n", 400},
		{"data longer than size", "3\r\nhello\r\n0\r\n\r\n", 400},
		{"bare LF last chunk", "0\n\r\n", 400},
		{"bare LF trailer", "0\r\nX: y\n\r\n", 400},
		{"bare LF end", "0\r\n\n", 400},
		{"ctl in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", 400},
		{"long extension", "5;" + strings.Repeat("e", DefaultMaxChunkLine) + "\r\nhello\r\n0\r\n\r\n", 400},
		{"CL in trailer", "0\r\nContent-Length: 5\r\n\r\n", 400},
		{"TE in trailer", "0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"obs-fold trailer", "0\r\nX: a\r\n b\r\n\r\n", 400},
		{"truncated data", "5\r\nhel", 0},
		{"truncated size", "5", 0},
		{"missing last chunk", "5\r\nhello\r\n", 0},
		{"missing final CRLF", "0\r\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readChunked(t, tt.in, whole)
			if tt.want == 0 {
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("err %v, want unexpected EOF", err)
				}
				return
			}
			if got := errStatus(err); got != tt.want {
				t.Fatalf("err %v, want status %d", err, tt.want)
			}
		})
	}
}

func TestChunkedResponseErrorIs502(t *testing.T) {
	r := NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), Limits{})
	var resp httpmsg.Response
	if err := r.ReadResponse(&resp, "GET"); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(r.Body(ResponseFraming(&resp)))
	if errStatus(err) != 502 {
		t.Fatalf("err %v", err)
	}
}

func TestChunkedPipelinedNext(t *testing.T) {
	in := chunkedHead + "3\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	r := NewReader(strings.NewReader(in), Limits{})
	var req httpmsg.Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := NewWriter(&out, 0)
	n, rerr, werr := r.CopyBody(w, RequestFraming(&req), CopyOptions{})
	if rerr != nil || werr != nil || n != 3 {
		t.Fatalf("copy n=%d %v %v", n, rerr, werr)
	}
	if v, _ := r.Trailer().Get("t"); v != "1" {
		t.Fatalf("trailer %q", r.Trailer())
	}
	if err := r.ReadRequest(&req); err != nil || req.URI != "/next" {
		t.Fatalf("next: %v %q", err, req.URI)
	}
}

// TestCheckBufferedChunks: bad framing among the bytes that came with the
// head is found before anything is consumed; framing that is only cut
// short by the end of the buffer is not an error.
func TestCheckBufferedChunks(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		bad        bool
	}{
		{"whole body", "5\r\nhello\r\n0\r\n\r\n", false},
		{"with trailers", "5\r\nhello\r\n0\r\nX: y\r\n\r\n", false},
		{"size line cut short", "5\r\nhel", false},
		{"data cut short", "5\r\nhello", false},
		{"CR of the data's end only", "5\r\nhello\r", false},
		{"nothing yet", "", false},
		{"extension", "5;a=b\r\nhello\r\n", false},
		{"bad size", "zz\r\nhello\r\n", true},
		{"bare LF size line", "5\nhello\r\n", true},
		{"data longer than its size", "5\r\nhelloXX\r\n", true},
		{"data end not CR", "5\r\nhelloX", true},
		{"bad second chunk", "5\r\nhello\r\n-1\r\n", true},
		{"size line too long", "5" + strings.Repeat(" ", DefaultMaxChunkLine+10), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, resp := range []bool{false, true} {
				head := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				if resp {
					head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				}
				r := NewReader(strings.NewReader(head+tc.body), Limits{})
				var err error
				if resp {
					var m httpmsg.Response
					err = r.ReadResponse(&m, "GET")
				} else {
					var m httpmsg.Request
					err = r.ReadRequest(&m)
				}
				if err != nil {
					t.Fatal(err)
				}
				before := r.Buffered()
				err = r.CheckBufferedChunks()
				var pe *ProtocolError
				if tc.bad != (err != nil) || err != nil && !errors.As(err, &pe) {
					t.Fatalf("resp=%v: %v", resp, err)
				}
				if pe != nil && pe.Status != map[bool]int{false: 400, true: 502}[resp] {
					t.Errorf("resp=%v: status %d", resp, pe.Status)
				}
				if r.Buffered() != before {
					t.Errorf("consumed %d bytes", before-r.Buffered())
				}
			}
		})
	}
}
