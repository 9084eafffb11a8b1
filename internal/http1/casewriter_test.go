package http1

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// TestWriterCaseAdjust: with CaseAdjust the names it lists (found in any
// case, long names included) are written in its case, in heads and
// trailers; the others and every name without it go out as they are.
func TestWriterCaseAdjust(t *testing.T) {
	long := "x-" + strings.Repeat("a", 70)
	ca := map[string]string{"content-type": "Content-Type", "x-api-key": "X-API-KEY", long: strings.ToUpper(long)}
	h := httpmsg.Headers{{Name: "content-type", Value: "a"}, {Name: "X-Api-Key", Value: "b"}, {Name: "x-other", Value: "c"}, {Name: long, Value: "d"}}
	var buf bytes.Buffer
	w := NewWriter(&buf, 0)
	w.CaseAdjust = ca
	if err := w.WriteResponseHead(&httpmsg.Response{Status: 200, Header: h}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteLastChunk(httpmsg.Headers{{Name: "x-api-key", Value: "t"}}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := "HTTP/1.1 200 OK\r\nContent-Type: a\r\nX-API-KEY: b\r\nx-other: c\r\n" + strings.ToUpper(long) + ": d\r\n\r\n0\r\nX-API-KEY: t\r\n\r\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	w = NewWriter(&buf, 0)
	if err := w.WriteRequestHead(&httpmsg.Request{Method: "GET", URI: "/", Header: h}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if want := "GET / HTTP/1.1\r\ncontent-type: a\r\nX-Api-Key: b\r\nx-other: c\r\n" + long + ": d\r\n\r\n"; buf.String() != want {
		t.Errorf("without CaseAdjust: %q", buf.String())
	}
}
