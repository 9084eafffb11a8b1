package logging

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

var frameTime = time.Date(2026, time.November, 1, 9, 5, 7, 123456789, time.FixedZone("CET", 3600))

func TestFrames(t *testing.T) {
	msg := []byte("10.0.1.2:33317 [01/Nov/2026:09:05:07.123] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"")
	tests := []struct {
		name   string
		h      header
		lvl    Level
		sd     string
		maxLen int
		want   string
	}{
		{"rfc3164 without hostname", header{format: FormatRFC3164, facility: 16, tag: "gatehouse", pid: 1234}, LevelInfo, "", 0,
			"<134>Nov  1 09:05:07 gatehouse[1234]: " + string(msg)},
		{"rfc3164 with hostname", header{format: FormatRFC3164, facility: 16, tag: "gatehouse", pid: 1234, hostname: "edge1"}, LevelInfo, "", 0,
			"<134>Nov  1 09:05:07 edge1 gatehouse[1234]: " + string(msg)},
		{"local omits hostname", header{format: FormatLocal, facility: 3, tag: "gh", pid: 7, hostname: "edge1"}, LevelNotice, "", 0,
			"<29>Nov  1 09:05:07 gh[7]: " + string(msg)},
		{"rfc5424", header{format: FormatRFC5424, facility: 16, tag: "gatehouse", pid: 1234, hostname: "edge1"}, LevelInfo, "", 0,
			"<134>1 2026-11-01T09:05:07.123456+01:00 edge1 gatehouse 1234 - - " + string(msg)},
		{"rfc5424 sd no host", header{format: FormatRFC5424, facility: 16, tag: "gatehouse", pid: 1}, LevelErr, `[x@1 st="200"]`, 0,
			`<131>1 2026-11-01T09:05:07.123456+01:00 - gatehouse 1 - [x@1 st="200"] ` + string(msg)},
		{"short", header{format: FormatShort, facility: 16}, LevelInfo, "", 0, "<6>" + string(msg)},
		{"priority", header{format: FormatPriority, facility: 1}, LevelAlert, "", 0, "<9>" + string(msg)},
		{"timed", header{format: FormatTimed}, LevelDebug, "", 0, "<7>2026-11-01T09:05:07.123456+01:00 " + string(msg)},
		{"iso", header{format: FormatISO}, LevelDebug, "", 0, "2026-11-01T09:05:07.123456+01:00 " + string(msg)},
		{"raw", header{format: FormatRaw}, LevelInfo, "", 0, string(msg)},
		{"len truncates header included", header{format: FormatRFC3164, facility: 16, tag: "gatehouse", pid: 1234}, LevelInfo, "", 40,
			"<134>Nov  1 09:05:07 gatehouse[1234]: 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.h.appendFrame(nil, frameTime, tt.lvl, []byte(tt.sd), msg, tt.maxLen))
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	day := time.Date(2026, time.December, 24, 0, 0, 0, 0, time.UTC)
	h := header{format: FormatRFC3164, tag: "t", pid: 1}
	if got := string(h.appendFrame(nil, day, LevelEmerg, nil, []byte("m"), 0)); got != "<0>Dec 24 00:00:00 t[1]: m" {
		t.Errorf("two-digit day: %q", got)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want targetAddr
		err  string
	}{
		{"stdout", targetAddr{kind: targetStdout}, ""},
		{"fd@2", targetAddr{kind: targetStderr}, ""},
		{"127.0.0.1", targetAddr{targetUDP, "udp", "127.0.0.1:514"}, ""},
		{"127.0.0.1:1514", targetAddr{targetUDP, "udp", "127.0.0.1:1514"}, ""},
		{"udp@syslog.local:601", targetAddr{targetUDP, "udp", "syslog.local:601"}, ""},
		{"ipv4@10.0.0.1", targetAddr{targetUDP, "udp4", "10.0.0.1:514"}, ""},
		{"ipv6@[::1]:1514", targetAddr{targetUDP, "udp6", "[::1]:1514"}, ""},
		{"ipv6@2001:db8::1:1514", targetAddr{targetUDP, "udp6", "[2001:db8::1]:1514"}, ""},
		{"[::1]", targetAddr{targetUDP, "udp", "[::1]:514"}, ""},
		{"/dev/log", targetAddr{targetUnixgram, "unixgram", "/dev/log"}, ""},
		{"unix@/var/run/log.sock", targetAddr{targetUnixgram, "unixgram", "/var/run/log.sock"}, ""},
		{"ring@buf1", targetAddr{kind: targetRing, addr: "buf1"}, ""},
		{"tcp@1.2.3.4:514", targetAddr{}, "unsupported log target family 'tcp@'"},
		{"", targetAddr{}, "missing log target"},
		{"udp@:514", targetAddr{}, "missing address"},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTarget(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestNewLoggerErrors(t *testing.T) {
	pos := config.Pos{File: "g.cfg", Line: 3}
	tests := []struct {
		log  config.Log
		want string
	}{
		{config.Log{Pos: pos, Target: "stdout", Facility: "local9"}, "parsing [g.cfg:3] : log: unknown log facility 'local9'"},
		{config.Log{Pos: pos, Target: "stdout", Facility: "local0", Level: "loud"}, "unknown optional log level 'loud'"},
		{config.Log{Pos: pos, Target: "stdout", Facility: "local0", MinLevel: "x"}, "unknown optional minimum log level 'x'"},
		{config.Log{Pos: pos, Target: "stdout", Format: "xml"}, "unknown log format 'xml'"},
		{config.Log{Pos: pos, Target: "ring@x"}, "log server uses unknown ring named 'x'"},
	}
	for _, tt := range tests {
		lg := tt.log
		_, err := NewLogger([]*config.Log{{Target: "stdout"}, &lg}, Options{})
		var d config.Diag
		if err == nil || !errors.As(err, &d) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.log, err, tt.want)
		}
	}
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func fixedNow() time.Time { return frameTime }

func TestLevelFiltering(t *testing.T) {
	var out, errOut syncBuffer
	logs := []*config.Log{
		{Target: "stdout", Format: "raw", Facility: "local0", Level: "notice"},
		{Target: "stderr", Format: "short", Facility: "daemon", Level: "debug", MinLevel: "err"},
	}
	l, err := NewLogger(logs, Options{Stdout: &out, Stderr: &errOut, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Enabled(LevelDebug) {
		t.Error("Enabled(debug) = false with a debug target")
	}
	l.Log(LevelInfo, []byte("access line"))
	l.Printf(LevelNotice, "Proxy %s started.", "fe")
	l.Log(LevelAlert, []byte("backend be has no server available!"))
	l.Close()
	if got, want := out.String(), "Proxy fe started.\nbackend be has no server available!\n"; got != want {
		t.Errorf("stdout (level notice) = %q, want %q", got, want)
	}
	// minlevel err: more severe messages are capped to err (alert 1 -> 3),
	// less severe ones keep their level.
	if got, want := errOut.String(), "<6>access line\n<5>Proxy fe started.\n<3>backend be has no server available!\n"; got != want {
		t.Errorf("stderr (minlevel err) = %q, want %q", got, want)
	}
	if s := l.Stats(); s[0].Sent != 2 || s[1].Sent != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestUDPSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	logs := []*config.Log{{Target: "udp@" + pc.LocalAddr().String(), Facility: "local2", Level: "info", Len: 60}}
	l, err := NewLogger(logs, Options{Tag: "edge", PID: 99, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(LevelInfo, []byte("hello syslog"))
	l.Log(LevelDebug, []byte("filtered out"))
	l.Log(LevelInfo, []byte(strings.Repeat("x", 100)))
	want := []string{
		// Datagrams end with '\n' beyond "len", as HAProxy's.
		"<150>Nov  1 09:05:07 edge[99]: hello syslog\n",
		"<150>Nov  1 09:05:07 edge[99]: " + strings.Repeat("x", 60-len("<150>Nov  1 09:05:07 edge[99]: ")) + "\n",
	}
	buf := make([]byte, 2048)
	for _, w := range want {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("waiting for %q: %v", w, err)
		}
		if got := string(buf[:n]); got != w {
			t.Errorf("datagram %q, want %q", got, w)
		}
	}
}

func TestUnixgramSyslog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Skip("unixgram:", err)
	}
	defer pc.Close()
	l, err := NewLogger([]*config.Log{{Target: path, Format: "rfc5424", Facility: "local0"}}, Options{PID: 5, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.LogSD(LevelInfo, []byte(`[a@1 b="c"]`), []byte("msg"))
	buf := make([]byte, 1024)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := pc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(buf[:n]), `<134>1 2026-11-01T09:05:07.123456+01:00 - gatehouse 5 - [a@1 b="c"] msg`+"\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestUnixgramMissingSocketIsRetried(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.sock")
	l, err := NewLogger([]*config.Log{{Target: path, Format: "raw"}}, Options{Now: fixedNow})
	if err != nil {
		t.Fatalf("a missing syslog socket must not fail the configuration: %v", err)
	}
	defer l.Close()
	l.Log(LevelInfo, []byte("lost"))
	waitFor(t, func() bool { return l.Stats()[0].Errors == 1 })
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Skip("unixgram:", err)
	}
	defer pc.Close()
	l.Log(LevelInfo, []byte("delivered"))
	buf := make([]byte, 64)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := pc.Read(buf)
	if err != nil || string(buf[:n]) != "delivered\n" {
		t.Errorf("got %q, %v", buf[:n], err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// gateWriter blocks every Write until the gate is opened.
type gateWriter struct {
	gate chan struct{}
	syncBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.gate
	return g.syncBuffer.Write(p)
}

func TestQueueOverflowDropsWithoutBlocking(t *testing.T) {
	w := &gateWriter{gate: make(chan struct{})}
	l, err := NewLogger([]*config.Log{{Target: "stdout", Format: "raw"}}, Options{Stdout: w, QueueLen: 4, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			l.Log(LevelInfo, fmt.Appendf(nil, "line %d", i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Log blocked on a stuck target")
	}
	// At most QueueLen queued plus one taken by the writer.
	if d := l.Dropped(); d < 100-5 {
		t.Errorf("dropped %d, want at least 95", d)
	}
	close(w.gate)
	l.Close()
	s := l.Stats()[0]
	if s.Sent+s.Dropped != 100 {
		t.Errorf("sent %d + dropped %d != 100", s.Sent, s.Dropped)
	}
	if !strings.HasPrefix(w.String(), "line 0\n") {
		t.Errorf("first line lost: %q", w.String())
	}
}

func TestStdoutWholeLinesUnderConcurrency(t *testing.T) {
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const loggers, lines = 4, 500
	var ls []*Logger
	for range loggers {
		l, err := NewLogger([]*config.Log{{Target: "stdout", Format: "raw"}}, Options{Stdout: wr, QueueLen: lines})
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	read := make(chan []string)
	go func() {
		var got []string
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		read <- got
	}()
	payload := strings.Repeat("abcdefghij", 90) // 900 bytes, well under len 1024
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() {
			for j := range lines {
				l.Log(LevelInfo, fmt.Appendf(nil, "%d-%04d %s", i, j, payload))
			}
		})
	}
	wg.Wait()
	for _, l := range ls {
		l.Close()
	}
	wr.Close()
	got := <-read
	total := 0
	for _, l := range ls {
		total += int(l.Stats()[0].Sent)
	}
	if len(got) != total {
		t.Fatalf("read %d lines, loggers sent %d", len(got), total)
	}
	for _, line := range got {
		if len(line) != 7+900 || !strings.HasSuffix(line, payload) {
			t.Fatalf("torn line (%d bytes): %.60q...", len(line), line)
		}
	}
}

func TestLogAfterCloseAndEmptyLogger(t *testing.T) {
	l, err := NewLogger(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Log(LevelInfo, []byte("nowhere"))
	if l.Enabled(LevelEmerg) {
		t.Error("a logger without targets is enabled")
	}
	l.Close()
	l.Close()
}

func BenchmarkLoggerLog(b *testing.B) {
	var sink syncBuffer
	l, err := NewLogger([]*config.Log{{Target: "stdout", Format: "rfc3164", Facility: "local0"}}, Options{Stdout: &sink, QueueLen: 4096})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c := docHTTPContext()
	f := mustCompile(b, HTTPLogFormat, nil)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], c)
		l.Log(LevelInfo, buf)
	}
}
