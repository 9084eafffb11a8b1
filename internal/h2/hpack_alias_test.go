package h2

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Response fields are often views of a buffer the proxy reuses once the
// response is written (the transaction arena). An encoder that kept them in
// its dynamic table would later compare new values against bytes that have
// changed underneath, match the wrong entry and send an index the client
// resolves to an old value: a response got another one's Content-Length.
// The encoder indexes nothing, as HAProxy's does, so no field outlives its
// write.
func TestResponseFieldsFromReusedBufferStayTheirOwn(t *testing.T) {
	const rounds = 300
	value := func(i int) string { return fmt.Sprintf("%04d", i%37) }
	var (
		mu  sync.Mutex
		buf = make([]byte, 4) // one arena for every response
		n   int
	)
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		mu.Lock()
		defer mu.Unlock()
		copy(buf, value(n))
		n++
		resp := &httpmsg.Response{Status: 200, Header: httpmsg.Headers{{Name: "X-Len", Value: unsafe.String(&buf[0], len(buf))}}}
		if st.WriteHead(resp, true) != nil {
			return
		}
		copy(buf, value(n*11)) // the arena is reused once the head is out
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	for i := range rounds {
		id := uint32(2*i + 1)
		c.headers(id, true, getReq...)
		f := c.until("response headers", func(f http2.Frame) bool {
			h, ok := f.(*http2.MetaHeadersFrame)
			return ok && h.StreamID == id
		}).(*http2.MetaHeadersFrame)
		var got string
		for _, hf := range f.RegularFields() {
			if hf.Name == "x-len" {
				got = hf.Value
			}
		}
		if want := value(i); got != want {
			t.Fatalf("response %d: x-len %q, want %q", i+1, got, want)
		}
	}
}
