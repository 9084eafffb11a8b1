package runtimeapi

import (
	"bufio"
	"strings"
	"testing"
)

func TestErrorPosition(t *testing.T) {
	tests := []struct {
		in   string
		resp bool
		want int
	}{
		{"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", false, 6},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, 27},    // syntax holds: the end
		{"G@T / HTTP/1.1\r\n\r\n", false, 1},                // not a token
		{"GET / HTTP/1.1\r\nbad header\r\n\r\n", false, 19}, // no colon
		{"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", false, 20},  // NUL in a value
		{"GET / HTTX/1.1\r\n\r\n", false, 9},                // version
		{"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nbad header\r\n\r\n", true, 39},
		{"HTTP/1.1 20 OK\r\n\r\n", true, 11},
		{"GET / HTTP/1.1\r\nHost: x", false, 23}, // cut short
	}
	for _, tc := range tests {
		if got := ErrorPosition([]byte(tc.in), tc.resp); got != tc.want {
			t.Errorf("ErrorPosition(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestDumpTextLine(t *testing.T) {
	in := []byte("GET /a\x01b\\ HTTP/1.1\r\nX: " + strings.Repeat("v", 100) + "\r\n")
	var sb strings.Builder
	w := bufio.NewWriter(&sb)
	for ptr, line := 0, 0; ptr < len(in); {
		ptr = dumpTextLine(w, in, ptr, &line)
	}
	w.Flush()
	want := "  00000  GET /a\\x01b\\\\ HTTP/1.1\\r\\n\n" +
		"  00020  X: " + strings.Repeat("v", 66) + "\n" +
		"  00089+ " + strings.Repeat("v", 34) + "\\r\\n\n"
	if sb.String() != want {
		t.Errorf("dump:\n%s\nwant:\n%s", sb.String(), want)
	}
}

func TestHumanTime(t *testing.T) {
	for sec, want := range map[int64]string{0: "0s", 42: "42s", 60: "1m", 123: "2m3s", 3600: "1h", 3725: "1h2m", 86400 + 300: "1d5m", 2*86400 + 7200 + 5: "2d2h"} {
		if got := humanTime(sec); got != want {
			t.Errorf("humanTime(%d) = %q, want %q", sec, got, want)
		}
	}
}
