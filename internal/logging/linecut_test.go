package logging

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// TestLineLenCutsFieldsAsHAProxy: under a line length (HAProxy's
// max_syslog_len buffer, one byte kept for its NUL) each field is cut by
// the rule of sess_build_logline for its kind.
func TestLineLenCutsFieldsAsHAProxy(t *testing.T) {
	alpha := "abcdefghijklmnopqrstuvwxyz"
	ex := fakeExprs(map[string]string{"x": alpha, "x13": alpha[:13], "x14": alpha[:14]})
	tests := []struct {
		name    string
		format  string
		lineLen int
		uri     string
		caps    []string
		asap    bool
		want    string
	}{
		{"unbounded", "%HM %{+Q}[x]", 0, "", nil, false, `GET "` + alpha + `"`},
		{"literal cut", "%HM " + alpha, 20, "", nil, false, "GET abcdefghijklmno"},
		{"separator that does not fit ends the line", "%HM %HV", 4, "", nil, false, "GET"},
		{"quoted sample left out, line ends", "%HM %{+Q}[x] %HV", 20, "", nil, false, "GET "},
		{"quoted sample one byte too long", "%HM %{+Q}[x14]", 20, "", nil, false, "GET "},
		{"quoted sample that fits exactly", "%HM %{+Q}[x13]", 20, "", nil, false, `GET "abcdefghijklm"`},
		{"unquoted sample cut", "%HM %[x] %HV", 20, "", nil, false, "GET abcdefghijklmno"},
		{"number that fits exactly", "%HM 123456789012345 %ST", 24, "", nil, false, "GET 123456789012345 200"},
		{"number left out", "%HM 123456789012345 %ST %HV", 23, "", nil, false, "GET 123456789012345 "},
		{"logasap '+' kept, number left out", "%HM 123456789012345 %Ta", 23, "", nil, true, "GET 123456789012345 +"},
		{"date left out", "%HM %t", 20, "", nil, false, "GET "},
		{"request line cut mid-value, no closing quote", "%{+Q}r", 13, `/ab"cd`, nil, false, `"GET /ab#22c`},
		{"escape that does not fit ends the value, closing quote kept", "%{+Q}r %HM", 12, `/ab"cd`, nil, false, `"GET /ab" G`},
		{"escape needs a byte after it", "%HU", 4, `/a"`, nil, false, "/a"},
		{"escape with a byte after it", "%HU", 7, `/a"`, nil, false, "/a#22"},
		{"capture: next value after a broken one", "%hr", 7, "", []string{`ab"c`, "zz"}, false, "{ab|zz"},
		{"capture list: '-' and a cut value", "%hrl", 5, "", []string{"", "abc"}, false, "- ab"},
		{"quoted capture list: empty value", "%{+Q}hrl", 6, "", []string{"", "abc"}, false, `"" "a`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustCompile(t, tt.format, ex).WithLineLen(tt.lineLen)
			c := NewContext()
			uri := "/"
			if tt.uri != "" {
				uri = tt.uri
			}
			c.Txn = &acl.Txn{Req: &httpmsg.Request{Method: "GET", URI: uri, Proto: "HTTP/1.1"}}
			c.Status, c.Ta, c.ASAP = 200, 123, tt.asap
			c.ReqCaptures = tt.caps
			// Written after a prefix: the bound counts from the line's start.
			got := string(f.Append([]byte("prefix:"), c))
			if got != "prefix:"+tt.want {
				t.Errorf("got %q, want %q", got, "prefix:"+tt.want)
			}
			if tt.lineLen > 0 && len(got)-len("prefix:") > tt.lineLen-1 {
				t.Errorf("%d bytes, more than %d", len(got)-len("prefix:"), tt.lineLen-1)
			}
		})
	}
}

// BenchmarkAppendHTTPLogBounded is BenchmarkAppendHTTPLog under the
// default len, the way access logs are built.
func BenchmarkAppendHTTPLogBounded(b *testing.B) {
	c := docHTTPContext()
	f := mustCompile(b, HTTPLogFormat, nil).WithLineLen(DefaultLen)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], c)
	}
	b.SetBytes(int64(len(buf)))
}
