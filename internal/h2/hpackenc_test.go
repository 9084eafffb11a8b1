package h2

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// headerConn is a Conn whose frames go to out, for writeHeaders alone.
func headerConn(t *testing.T, out *bytes.Buffer) *Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := NewConn(a, nil, func(*Stream) {})
	c.wfr = http2.NewFramer(out, nil)
	return c
}

// readBlocks decodes the header blocks in out, one decoder for all (as a
// client keeps one per connection).
func readBlocks(t *testing.T, out *bytes.Buffer) []*http2.MetaHeadersFrame {
	fr := http2.NewFramer(nil, out)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var got []*http2.MetaHeadersFrame
	for out.Len() > 0 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.(*http2.MetaHeadersFrame))
	}
	return got
}

func TestResponseHeaderEncoding(t *testing.T) {
	var out bytes.Buffer
	c := headerConn(t, &out)
	long := strings.Repeat("v", 300) // a length past the 7-bit prefix
	h := httpmsg.Headers{
		{Name: "Content-Type", Value: "text/plain"},
		{Name: "X-Custom-Name", Value: long},
		{Name: "Set-Cookie", Value: "sid=secret"},
		{Name: "Connection", Value: "keep-alive, X-Hop"},
		{Name: "X-Hop", Value: "dropped"},
		{Name: "Keep-Alive", Value: "timeout=5"},
		{Name: "TE", Value: "gzip"},
		{Name: "Vary", Value: ""},
		{Name: ":bogus", Value: "x"},
	}
	for _, status := range []int{200, 204, 418, 503, 999} {
		if _, err := c.writeHeaders(1, status, h, false); err != nil {
			t.Fatal(err)
		}
	}
	raw := append([]byte(nil), out.Bytes()...)
	blocks := readBlocks(t, &out)
	if len(blocks) != 5 {
		t.Fatalf("%d header blocks, want 5", len(blocks))
	}
	// The first block opens with a dynamic table size update to 0.
	if raw[9] != 0x20 {
		t.Errorf("first block starts with %#x, want the table size update 0x20", raw[9])
	}
	for i, status := range []string{"200", "204", "418", "503", "999"} {
		f := blocks[i]
		if got := f.PseudoValue("status"); got != status {
			t.Errorf("block %d: :status %q, want %s", i, got, status)
		}
		var fields []string
		for _, hf := range f.RegularFields() {
			fields = append(fields, hf.Name+"="+hf.Value)
			if (hf.Name == "set-cookie") != hf.Sensitive {
				t.Errorf("%s: never-indexed %v", hf.Name, hf.Sensitive)
			}
		}
		want := "content-type=text/plain x-custom-name=" + long + " set-cookie=sid=secret vary="
		if got := strings.Join(fields, " "); got != want {
			t.Errorf("block %d: fields %q\nwant %q", i, got, want)
		}
	}
}

// TestResponseHeaderEncodingAllocs: encoding a response head allocates
// nothing, mixed-case names included (strings.ToLower copied each).
func TestResponseHeaderEncodingAllocs(t *testing.T) {
	var out bytes.Buffer
	c := headerConn(t, &out)
	h := httpmsg.Headers{
		{Name: "Content-Type", Value: "text/plain"},
		{Name: "Content-Length", Value: "6"},
		{Name: "Date", Value: "Mon, 07 Dec 2026 09:00:00 GMT"},
		{Name: "X-Request-Id", Value: "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"},
		{Name: "Server", Value: "nginx"},
	}
	allocs := testing.AllocsPerRun(200, func() {
		out.Reset()
		if _, err := c.writeHeaders(1, 200, h, true); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("writeHeaders allocates %.1f times per head, want 0", allocs)
	}
}

// FuzzResponseHeaderEncoding: whatever valid fields a response carries,
// a client's decoder reads back the same fields (names in lower case, the
// connection-specific ones left out) and the status.
func FuzzResponseHeaderEncoding(f *testing.F) {
	f.Add(200, "Content-Type", "text/plain", "X-A", "b")
	f.Add(418, "set-cookie", "a=b", "Connection", "x-a")
	f.Add(999, "x-long", strings.Repeat("z", 200), "Vary", "")
	f.Fuzz(func(t *testing.T, status int, n1, v1, n2, v2 string) {
		if status < 100 || status > 999 {
			return
		}
		h := httpmsg.Headers{{Name: n1, Value: v1}, {Name: n2, Value: v2}}
		var want []string
		conn, _ := h.Get("Connection")
		for _, f := range h {
			if !httpguts.ValidHeaderFieldName(f.Name) || !httpguts.ValidHeaderFieldValue(f.Value) {
				return // the codecs upstream let no such field through
			}
			name := strings.ToLower(f.Name)
			if !dropResponseField(name, f.Value, conn) {
				want = append(want, name+"="+f.Value)
			}
		}
		var out bytes.Buffer
		c := headerConn(t, &out)
		for range 2 { // the second block has no table size update
			if _, err := c.writeHeaders(1, status, h, true); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range readBlocks(t, &out) {
			if got := b.PseudoValue("status"); got != strconv.Itoa(status) {
				t.Fatalf(":status %q, want %d", got, status)
			}
			var got []string
			for _, hf := range b.RegularFields() {
				got = append(got, hf.Name+"="+hf.Value)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("decoded %q, want %q", got, want)
			}
		}
	})
}
