package http1

import (
	"io"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// segments returns one segment per Read, as a peer's separate writes.
type segments struct{ s []string }

func (g *segments) Read(p []byte) (int, error) {
	if len(g.s) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.s[0])
	g.s[0] = g.s[0][n:]
	if g.s[0] == "" {
		g.s = g.s[1:]
	}
	return n, nil
}

// TestWouldBlockChunked: a whole chunk that arrived with its CRLF leaves
// nothing to read without waiting, so a streaming copy must flush then;
// the next chunk's size line alone is not data either.
func TestWouldBlockChunked(t *testing.T) {
	src := &segments{s: []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"6\r\n",
		" world\r\n0\r\n\r\n",
	}}
	r := NewReader(src, DefaultLimits())
	defer r.Release()
	var resp httpmsg.Response
	if err := r.ReadResponse(&resp, "GET"); err != nil {
		t.Fatal(err)
	}
	b := r.Body(ResponseFraming(&resp))
	buf := make([]byte, 64)
	if n, err := b.Read(buf); n != 5 || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
	if !b.WouldBlock() {
		t.Fatal("only the chunk's CRLF is buffered: the next read waits")
	}
	if err := r.fill(); err != nil {
		t.Fatal(err)
	}
	if !b.WouldBlock() {
		t.Fatal("CRLF and a size line are buffered, no data: the next read waits")
	}
	if err := r.fill(); err != nil {
		t.Fatal(err)
	}
	if b.WouldBlock() {
		t.Fatal("data is buffered")
	}
	if n, err := b.Read(buf); n != 6 || err != nil || string(buf[:6]) != " world" {
		t.Fatalf("read %d %v", n, err)
	}
	if b.WouldBlock() {
		t.Fatal("the last chunk is buffered: the body ends without waiting")
	}
	if _, err := b.Read(buf); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}
