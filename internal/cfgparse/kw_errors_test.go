package cfgparse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorPageDirectives: the order rule (a later directive wins, an
// errorfiles import included), partial imports, resets, and the errors
// HAProxy reports for unknown sections, codes it cannot generate and a
// malformed http-error.
func TestErrorPageDirectives(t *testing.T) {
	dir := t.TempDir()
	page := func(name, status string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("HTTP/1.1 "+status+"\r\nContent-Length: 0\r\n\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a503, b503, b403 := page("a503", "503 A"), page("b503", "503 B"), page("b403", "403 B")
	section := "\nhttp-errors b\n    errorfile 503 " + b503 + "\n    errorfile 403 " + b403 + "\n"
	for _, tc := range []struct {
		lines string
		want  map[int]string // code -> first bytes of the page ("reply" for an http-error reply)
		err   string
	}{
		{lines: "    errorfile 503 " + a503 + "\n    errorfiles b", want: map[int]string{503: "503 B", 403: "403 B"}},
		{lines: "    errorfiles b\n    errorfile 503 " + a503, want: map[int]string{503: "503 A", 403: "403 B"}},
		{lines: "    errorfiles b 403", want: map[int]string{403: "403 B"}},
		{lines: "    errorfiles b\n    http-error status 403 default-errorfiles", want: map[int]string{503: "503 B"}},
		{lines: "    http-error status 429 content-type text/plain string slow", want: map[int]string{429: "reply"}},
		{lines: "    errorloc303 404 /x", want: map[int]string{404: "303 See Other"}},
		{lines: "    errorfiles nosuch", err: "unknown http-errors section 'nosuch'"},
		{lines: "    errorfiles b 418", err: "status code '418' not handled"},
		{lines: "    errorloc 302 /x", err: "status code '302' not handled"},
		{lines: "    http-error 503 string x", err: "expects 'status'"},
	} {
		px, _, err := parseBackend(t, tc.lines+"\n    server s 127.0.0.1:80"+section)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one about %q", tc.lines, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.lines, err)
			continue
		}
		got := map[int]string{}
		for code, ef := range px.ErrorFiles {
			if ef.Reply != nil {
				got[code] = "reply"
			} else {
				got[code] = strings.TrimPrefix(strings.SplitN(string(ef.Content), "\r\n", 2)[0], "HTTP/1.1 ")
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: pages %v, want %v", tc.lines, got, tc.want)
		}
		for code, w := range tc.want {
			if got[code] != w {
				t.Errorf("%q: page %d = %q, want %q", tc.lines, code, got[code], w)
			}
		}
	}
}
